# The 90k schedule shrunk for a CPU: same optimizer, lr steps at 2/3 and 8/9 of the run.
_base_ = './schedule_90k.py'

max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=50),
    dict(type='MultiStepLR', begin=0, end=max_iters, by_epoch=False,
         milestones=[400, 533], gamma=0.1)
]
