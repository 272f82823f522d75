# Family of the toy counterparts of the ATSS (Zhang et al., CVPR 2020) Table 3 rows
# (configs/toy/fcos-imprv*): the toy FCOS with the paper's improvements (centerness on
# regression, GIoU, stride-normalised targets), positives from the (toy, /2) regress ranges, no
# center sampling, on the toy model, data, schedule and runtime of ../toy_base.py. The head is
# ATSSFCOSHead without an assigner (= FCOSHead): the rows differ only in how positives are chosen
# (each sets its own). Not a paper row itself (the "FCOS" row inherits it unchanged).
_base_ = [
    '../models/fcos_toy.py', '../datasets/owd_shapes.py', '../schedules/schedule_toy.py',
    '../default_runtime.py'
]

# the toy runtime of ../toy_base.py, restated (inheriting that file would put the leaves at 5
# files)
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=200),
    checkpoint=dict(by_epoch=False, interval=1500, max_keep_ckpts=1))

model = dict(
    bbox_head=dict(
        type='ATSSFCOSHead',
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=False,
        conv_bias=True,
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0)))
