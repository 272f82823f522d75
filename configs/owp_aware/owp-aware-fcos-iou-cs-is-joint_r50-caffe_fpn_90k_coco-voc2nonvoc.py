# FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (joint)" (= Table 3 "joint").
# Recipe of §4:
# the IOU-CS-IS head with the classifier trained too, every branch at lr 0.01, from ImageNet;
# proposals scored by cls * IoU.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

# the IOU-CS-IS head (Table 1) with the classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        objectness=('iou', ),
        score_mode='cls*iou',
        center_sampling=True,
        iou_sampling_thr=0.3,
        train_cls=True))
# cls * IoU keeps the classes: base AP is computed (class_agnostic=False)
val_evaluator = dict(class_agnostic=False)
test_evaluator = dict(class_agnostic=False)
