# Toy counterpart of FCOS-OWP Table 3, row "frozen": from the toy OWP IOU-CS-IS checkpoint (as
# ./owp-aware-fcos-iou-cs-is-finetune_r18_fpn_1500it_owd-shapes.py) with the localisation branches
# frozen, classification at the full lr.
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

load_from = 'work_dirs/owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes/iter_1500.pth'
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(
        custom_keys={
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        },
        frozen_keys=['bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
                     'bbox_head.conv_iou']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
