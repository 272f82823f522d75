# FCOS-OWP Table 2, OWP row "IOU-CS-IS": the OWP recipe (classifier
# frozen, proposals scored by predicted IoU) with Center Sampling and IoU Sampling 0.3, as the
# COCO row configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py, on LVIS base -> novel.
_base_ = [
    '../_base_/models/owp_fcos_r50_fpn.py', '../_base_/datasets/lvis_v1_base2novel.py',
    '../_base_/schedules/schedule_90k.py', '../_base_/default_runtime.py'
]

model = dict(
    bbox_head=dict(num_classes=1103, objectness=('iou', ), score_mode='iou',
                   center_sampling=True, iou_sampling_thr=0.3),
    test_cfg=dict(max_per_img=300))
# class-agnostic proposals ("object"): base AP is N/A, as in Table 2
val_evaluator = dict(class_agnostic=True)
test_evaluator = dict(class_agnostic=True)
