# Toy counterpart of FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (joint)"
# (= Table 3 "joint"): classifier trained with the IOU-CS-IS head, every branch at lr 0.01.
_base_ = './owp_fcos_toy_iou-cs-is_owd-shapes.py'

model = dict(bbox_head=dict(train_cls=True, score_mode='cls*iou'))
# cls * IoU keeps the classes: base AP is computed
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
