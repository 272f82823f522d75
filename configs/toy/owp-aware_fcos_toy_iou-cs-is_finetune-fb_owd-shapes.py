# Toy counterpart of FCOS-OWP Table 3, row "finetune fb": finetune recipe + backbone frozen.
_base_ = './owp-aware_fcos_toy_iou-cs-is_finetune_owd-shapes.py'

model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
