# Toy counterpart of FCOS-OWP Table 1, OWP-Aware Classification row "logits * IOU-CS-IS (Finetune)"
# (= Table 3 "finetune"): from the toy OWP IOU-CS-IS checkpoint (train
# ./owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py first, or let tools/reproduce_toy.py do it),
# regression + objectness at a tenth of the lr, classification at the full lr.
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

load_from = 'work_dirs/owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes/iter_1500.pth'
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
