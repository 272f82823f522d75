# Seed 000 Table 3, row "frozen fb" (COCO base AP 38.77, AR10 56.54, AR100 61.41; non-VOC AP 1.94,
# AR10 13.08, AR100 30.19): frozen recipe with the (OWP-trained) backbone frozen as well.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_frozen_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    paramwise_cfg=dict(frozen_keys=['backbone.', 'bbox_head.reg_convs', 'bbox_head.conv_reg',
                                    'bbox_head.scales', 'bbox_head.conv_iou']))
