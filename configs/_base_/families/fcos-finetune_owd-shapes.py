# Family of the toy counterparts of the policy-gradient detector's (Rao et al., CVPR 2018) Table 1
# rows "standard" vs "ours" (configs/toy/fcos-finetune_*, pg-fcos_*): fine-tune the converged toy
# baseline (configs/toy/fcos_r18_fpn_1500it_owd-shapes.py; train it first, or let
# tools/reproduce_toy.py do it) on the toy model, data and runtime of ../toy_base.py. Both rows
# share this start, schedule and lr, so that the pair isolates the classification loss: the
# reference row inherits it unchanged (the baseline's own focal loss), the policy-gradient row
# changes only the loss; without the reference the policy-gradient row would be compared with a
# model that trained fewer iterations. Rao et al. §4: a 22.5k-iteration fine-tune after a 160k
# baseline; scaled to the 1500-iteration toy schedule: 1500 * 22.5/160 = 211 iterations at a
# tenth of the toy's lr (0.1 x 4e-3, as 0.001 is a tenth of the paper's 0.01), step at 2/3 (141).
_base_ = [
    '../models/fcos_toy.py', '../datasets/owd_shapes.py', '../schedules/schedule_toy.py',
    '../default_runtime.py'
]

# the toy runtime of ../toy_base.py, restated (inheriting that file would put the leaves at 5
# files), with the fine-tune's log and checkpoint intervals
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=25),
    checkpoint=dict(by_epoch=False, interval=211, max_keep_ckpts=1))

load_from = 'work_dirs/fcos_r18_fpn_1500it_owd-shapes/iter_1500.pth'
train_cfg = dict(max_iters=211, val_interval=211)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=211, by_epoch=False, milestones=[141], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
