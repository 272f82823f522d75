# FCOS-OWP Appendix B, "All Sampling": the IOU-CS-IS row with
# the IoU branch trained on every location (inside a GT box: target against its box; else 0).
# Regression keeps center sampling.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/coco_voc2nonvoc.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(
    bbox_head=dict(
        objectness=('iou', ), score_mode='iou', center_sampling=True,
        iou_sampling_thr=0.3,
        objectness_sampling='all'))
# class-agnostic proposals (one "object" label): base AP is N/A, as in Table 1
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
