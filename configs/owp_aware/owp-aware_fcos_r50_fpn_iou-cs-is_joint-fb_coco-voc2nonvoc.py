# Seed 000 Table 3, row "joint fb" (COCO base AP 25.31, AR10 42.11, AR100 47.37; non-VOC AP 0.76,
# AR10 6.45, AR100 19.31): joint recipe with the ImageNet backbone frozen (all ResNet stages:
# no gradient, BN in eval mode, not in the optimizer).
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint_coco-voc2nonvoc.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor', paramwise_cfg=dict(frozen_keys=['backbone.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
