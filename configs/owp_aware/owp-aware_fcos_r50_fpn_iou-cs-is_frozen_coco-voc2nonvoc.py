# FCOS-OWP Table 3, row "frozen": as finetune, but the localisation branches (regression tower,
# conv_reg, scales, IoU branch) are frozen completely: no gradient, no optimizer state, also on
# resume.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_finetune_coco-voc2nonvoc.py'

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
# parameters are frozen after DDP wraps the model: DDP must tolerate parameters without grads
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
