# FCOS-OWP Table 1, OWP row "sqrt(centerness * IOU)": both branches trained, proposals scored
# by the geometric mean of centerness and IoU (as OLN).
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(
    bbox_head=dict(
        objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)'))
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
