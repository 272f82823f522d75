# Toy counterpart of seed 004 Table 1, row "ours (gamma = 1)" on the OWP-aware head of seed 000
# Table 1 row "logits * IOU-CS-IS (joint)": fine-tune the converged toy joint model (train
# configs/toy/owp-aware_fcos_toy_iou-cs-is_joint_owd-shapes.py first) with the policy-gradient
# loss in place of the focal loss, candidates ranked by cls * IoU. Schedule: 600 * 22.5/160 = 84
# iterations at lr 0.001, step at 56 (see fcos_toy_r18_pg-finetune_owd-shapes.py).
_base_ = './owp-aware_fcos_toy_iou-cs-is_joint_owd-shapes.py'

load_from = 'work_dirs/owp-aware_fcos_toy_iou-cs-is_joint_owd-shapes/iter_600.pth'
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

train_cfg = dict(max_iters=84, val_interval=84)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=84, by_epoch=False, milestones=[56], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.001))
default_hooks = dict(
    logger=dict(interval=10), checkpoint=dict(interval=84))
