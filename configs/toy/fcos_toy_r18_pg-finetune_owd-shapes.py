# Toy counterpart of seed 004 Table 1, row "ours (gamma = 1)": fine-tune the converged toy FCOS
# (configs/toy/fcos_toy_r18_owd-shapes.py, 600 iterations; train it first) with the
# policy-gradient loss in place of the focal loss. Seed 004 §4's 22.5k-iteration fine-tune after
# a 160k baseline, scaled to the 600-iteration toy schedule: 600 * 22.5/160 = 84 iterations,
# lr 0.001, step at 2/3 (56). 100 candidates per image (a 128x128 image has 341 locations).
_base_ = './fcos_toy_r18_owd-shapes.py'

load_from = 'work_dirs/fcos_toy_r18_owd-shapes/iter_600.pth'
model = dict(
    bbox_head=dict(
        type='PGFCOSHead',
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
