# A CPU-sized FCOS for the generated 128x128 dataset: ResNet-18 with 16 base channels and
# no pretrained weights, a 64-channel FPN and a 2-conv GN head, with FCOS's improvements
# (GIoU loss, stride-normalised targets, centerness on the regression tower, center sampling
# radius 1.5; ATSS (Zhang et al., CVPR 2020) §3 lists them). Regression ranges are the mmdet
# defaults divided by 2: a level takes objects up to 4x its stride (8x in FCOS on COCO), so that
# the toy's 12-56 px objects are learnt on P3 (stride 8) and P4. With the defaults divided by 4
# (2x stride), objects above 32 px went to P4/P5, 2-4 cells across, and base AP was 35 instead
# of 60 (2,000 iterations; README, toy section).
_base_ = './fcos_r50_fpn.py'

model = dict(
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        depth=18,
        base_channels=16,
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=64),
    bbox_head=dict(
        num_classes=5,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        regress_ranges=((-1, 32), (32, 64), (64, 128), (128, 256), (256, 1e8)),
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=True,
        center_sample_radius=1.5,
        conv_bias=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)),
    test_cfg=dict(nms_pre=1000, score_thr=0.01, max_per_img=100))
