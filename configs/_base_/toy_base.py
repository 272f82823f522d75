# Base of every toy config: CPU-sized FCOS, the generated open-world dataset, a short
# schedule. Experiment configs under configs/toy/ only state what differs.
_base_ = [
    './models/fcos_toy.py', './datasets/owd_shapes.py', './schedules/schedule_toy.py',
    './default_runtime.py'
]
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=200),
    checkpoint=dict(by_epoch=False, interval=2000, max_keep_ckpts=1))
