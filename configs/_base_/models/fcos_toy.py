# A CPU-sized FCOS for the generated 128x128 dataset: ResNet-18 with 16 base channels and
# no pretrained weights, a 64-channel FPN and a 2-conv GN head. Regression ranges are the
# mmdet defaults divided by 4, to match the 4x smaller images and objects.
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
        regress_ranges=((-1, 16), (16, 32), (32, 64), (64, 128), (128, 1e8))),
    test_cfg=dict(nms_pre=1000, score_thr=0.01, max_per_img=100))
