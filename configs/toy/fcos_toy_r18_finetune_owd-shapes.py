# Reference of the policy-gradient row (Rao et al., CVPR 2018, Table 1 "standard" vs "ours"):
# fine-tune the converged toy baseline (configs/toy/fcos_toy_r18_owd-shapes.py; train it first,
# or let tools/reproduce_toy.py do it) with its own focal loss, for the schedule of the
# policy-gradient fine-tune (fcos_toy_r18_pg-finetune_owd-shapes.py inherits this file and
# changes only the classification loss), so that the pair isolates the loss: without it the
# policy-gradient row would be compared with a model that trained fewer iterations.
# Rao et al. §4: a 22.5k-iteration fine-tune after a 160k baseline; scaled to the 2000-iteration
# toy schedule: 2000 * 22.5/160 = 281 iterations at a tenth of the toy's lr (0.1 x 4e-3, as
# 0.001 is a tenth of the paper's 0.01), step at 2/3 (187).
_base_ = './fcos_toy_r18_owd-shapes.py'

load_from = 'work_dirs/fcos_toy_r18_owd-shapes/iter_2000.pth'
train_cfg = dict(max_iters=281, val_interval=281)
param_scheduler = [
    dict(type='MultiStepLR', begin=0, end=281, by_epoch=False, milestones=[187], gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=4e-4))
default_hooks = dict(logger=dict(interval=25), checkpoint=dict(interval=281))
