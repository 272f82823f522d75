# FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (Finetune)" (= Table 3
# "finetune").
# Recipe of §4: start from the OWP IOU-CS-IS checkpoint; regression + objectness branches at
# lr 0.001, classification at 0.01 (custom_keys override bias_lr_mult for these branches);
# backbone and neck keep the default lr 0.01.
_base_ = './owp-aware_fcos_r50_fpn_iou-cs-is_joint_coco-voc2nonvoc.py'

load_from = 'work_dirs/owp_fcos_r50_fpn_iou-cs-is_coco-voc2nonvoc/iter_90000.pth'
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={
            'bbox_head.reg_convs': dict(lr_mult=0.1),
            'bbox_head.conv_reg': dict(lr_mult=0.1),
            'bbox_head.scales': dict(lr_mult=0.1),
            'bbox_head.conv_iou': dict(lr_mult=0.1),
            'bbox_head.cls_convs': dict(lr_mult=1.0),
            'bbox_head.conv_cls': dict(lr_mult=1.0),
        }))
