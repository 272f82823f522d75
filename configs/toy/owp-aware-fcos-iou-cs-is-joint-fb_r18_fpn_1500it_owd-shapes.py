# Toy counterpart of FCOS-OWP Table 3, row "joint fb": joint with the backbone frozen (the toy
# backbone is not pretrained, so this freezes a random backbone: a recipe check, not a result).
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
