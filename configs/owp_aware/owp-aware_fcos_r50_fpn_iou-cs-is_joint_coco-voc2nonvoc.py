# FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (joint)" (= Table 3 "joint").
# Recipe of §4:
# the IOU-CS-IS head with the classifier trained too, every branch at lr 0.01, from ImageNet;
# proposals scored by cls * IoU.
_base_ = '../owp/owp_fcos_r50_fpn_iou-cs-is_coco-voc2nonvoc.py'

model = dict(bbox_head=dict(train_cls=True, score_mode='cls*iou'))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
