# FCOS-OWP Table 2, OWP Classification row "joint": the IOU-CS-IS head with the classifier trained,
# every branch at lr 0.01; cls * IoU scores.
_base_ = './owp_fcos_r50_fpn_iou-cs-is_lvis-base2novel.py'

model = dict(bbox_head=dict(train_cls=True, score_mode='cls*iou'))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
