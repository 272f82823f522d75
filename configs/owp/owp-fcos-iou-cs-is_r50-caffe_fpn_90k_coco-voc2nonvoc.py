# FCOS-OWP Table 1, OWP row "IOU-CS-IS": the IOU row + Center Sampling (radius 1.5) + IoU
# Sampling (IoU targets < 0.3 become 0, §3.2, Figure 3).
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=True,
        iou_sampling_thr=0.3))
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
