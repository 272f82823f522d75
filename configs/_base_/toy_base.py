# Base of the toy baseline rows (configs/toy/fcos_r18_fpn_1500it_owd-shapes*.py): CPU-sized FCOS,
# the generated open-world dataset, a short schedule, and the toy runtime below. The toy families
# (families/*_owd-shapes.py) list the same four files and restate the runtime lines below (a
# family inheriting this file would put its leaves at 5 files); tests/test_config_chains.py
# checks that every toy config keeps them.
_base_ = [
    './models/fcos_toy.py', './datasets/owd_shapes.py', './schedules/schedule_toy.py',
    './default_runtime.py'
]
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=200),
    checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=1))
