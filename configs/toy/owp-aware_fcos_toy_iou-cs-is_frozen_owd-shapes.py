# Toy counterpart of FCOS-OWP Table 3, row "frozen": finetune with the localisation branches frozen.
_base_ = './owp-aware_fcos_toy_iou-cs-is_finetune_owd-shapes.py'

optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        frozen_keys=['bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
                     'bbox_head.conv_iou'],
        custom_keys={
            '_delete_': True,
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
