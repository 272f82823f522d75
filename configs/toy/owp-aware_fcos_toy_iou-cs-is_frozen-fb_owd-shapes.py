# Toy counterpart of FCOS-OWP Table 3, row "frozen fb": frozen recipe + backbone frozen.
_base_ = './owp-aware_fcos_toy_iou-cs-is_frozen_owd-shapes.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs',
                                    'bbox_head.conv_reg', 'bbox_head.scales',
                                    'bbox_head.conv_iou']))
