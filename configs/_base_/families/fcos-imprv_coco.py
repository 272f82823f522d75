# Family of the ATSS (Zhang et al., CVPR 2020) Table 3 rows and Table 4 columns
# (configs/atss/): FCOS R50-FPN with the improvements the paper counts in (centerness on the
# regression branch, GIoU loss, regression targets normalised by the stride), positives from
# mmdet's rule (inside the box + per-level regress ranges), no center sampling. 80 COCO
# classes, 800x1333, 90k iterations, batch 16. The head is ATSSFCOSHead (FCOSHead +
# AssignerMixin): without train_cfg.assigner it *is* FCOSHead, so the rows differ only in how
# positives are chosen (each sets its own). Not a paper row itself (the "FCOS" row inherits
# it unchanged).
_base_ = [
    '../models/fcos_r50_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    '../schedules/schedule_90k.py', '../default_runtime.py'
]

model = dict(
    bbox_head=dict(
        type='ATSSFCOSHead',
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=False,
        conv_bias=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    # FCOS / ATSS official inference: 1000 pre-NMS, NMS 0.6, 100 detections
    test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100))

# 8 GPUs x 2 images = batch 16 (ATSS §3.1); iteration-based, so an infinite sampler
train_dataloader = dict(batch_size=2, sampler=dict(type='InfiniteSampler', shuffle=True))
