# Toy counterpart of FCOS-OWP Table 3, row "finetune fb": the finetune recipe
# (./owp-aware-fcos-iou-cs-is-finetune_r18_fpn_1500it_owd-shapes.py: from the toy OWP IOU-CS-IS
# checkpoint, regression + objectness at a tenth of the lr) with the backbone frozen.
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

load_from = 'work_dirs/owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes/iter_1500.pth'
model = dict(backbone=dict(frozen_stages=4))
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        custom_keys={
            'bbox_head.reg_convs': dict(lr_mult=0.1),
            'bbox_head.conv_reg': dict(lr_mult=0.1),
            'bbox_head.scales': dict(lr_mult=0.1),
            'bbox_head.conv_iou': dict(lr_mult=0.1),
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        },
        frozen_keys=['backbone.', 'neck.']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
