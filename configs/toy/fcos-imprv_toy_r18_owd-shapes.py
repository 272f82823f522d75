# Toy counterpart of ATSS (Zhang et al., CVPR 2020) Table 3, row "FCOS": the toy FCOS with the
# paper's improvements (centerness on regression, GIoU, stride-normalised targets), positives
# from the (toy, /2) regress ranges, no center sampling. Head = ATSSFCOSHead without an assigner.
_base_ = '../_base_/toy_base.py'

model = dict(
    bbox_head=dict(
        type='ATSSFCOSHead',
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=False,
        conv_bias=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)))
