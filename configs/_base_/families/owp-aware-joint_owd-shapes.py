# Family of the toy counterparts of the FCOS-OWP OWP-aware rows (Table 1 OWP-Aware
# Classification, Table 3) and of the rows built on the joint model (RbA score, policy gradient)
# (configs/toy/owp-aware-fcos-*, rba-score-*, pg-owp-aware-*): the IOU-CS-IS head with the
# classifier trained too, every branch at the toy's lr, proposals scored by cls * IoU, on the toy
# model, data, schedule and runtime of ../toy_base.py. Not a paper row: the "joint" row inherits
# it unchanged, the others set their recipe (starting checkpoint, frozen parts, losses).
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

# the IOU-CS-IS head of ./owp-fcos_owd-shapes.py (Center Sampling, IoU Sampling 0.3) with the
# classifier trained; proposals scored by cls * IoU
model = dict(
    bbox_head=dict(
        type='OWPFCOSHead',
        centerness_on_reg=True,
        center_sampling=True,
        objectness=('iou', ),
        conditional=False,
        objectness_sampling='center',
        iou_sampling_thr=0.3,
        score_mode='cls*iou',
        train_cls=True,
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
