# FCOS-OWP Table 1, OWP row "IOU": the centerness branch replaced by the IoU branch (Eq. 2),
# proposals scored by predicted IoU.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou'))
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
