# Toy counterpart of the policy-gradient detector's (Rao et al., CVPR 2018) Table 1, row "ours
# (gamma = 1)" on the OWP-aware head of FCOS-OWP Table 1 row "logits * IOU-CS-IS (joint)":
# fine-tune the converged toy joint model (train
# configs/toy/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py first) with the
# policy-gradient loss in place of the focal loss, candidates ranked by cls * IoU. Schedule:
# 1500 * 22.5/160 = 211 iterations at lr 4e-4, step at 141 (as
# configs/_base_/families/fcos-finetune_owd-shapes.py).
_base_ = '../_base_/families/owp-aware-joint_owd-shapes.py'

load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes/iter_1500.pth'
model = dict(
    bbox_head=dict(
        type='PGOWPFCOSHead',
        replace_loss_cls=True,
        loss_pg=dict(
            type='PolicyGradientLoss',
            num_samples=10,
            gamma=1.0,
            num_candidates=100,
            max_dets=100,
            nms_cfg=dict(type='nms', iou_threshold=0.5))))

train_cfg = dict(max_iters=211, val_interval=211)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=211, by_epoch=False, milestones=[141], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(
    logger=dict(interval=25), checkpoint=dict(interval=211))
