# Family of the toy counterparts of the FCOS-OWP Table 1 OWP rows, Appendix B and IOU-ATSS-IS
# (configs/toy/owp-fcos-*): the OWP recipe (frozen classifier, objectness branches on the
# regression tower, class-agnostic proposals scored by objectness only) on the toy model, data,
# schedule and runtime of ../toy_base.py. Not a paper row: the "centerness" row inherits it
# unchanged, the others set their objectness, scoring and sampling.
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

# the OWP head: centerness objectness, frozen classifier ("centerness" row)
model = dict(
    bbox_head=dict(
        type='OWPFCOSHead',
        centerness_on_reg=True,
        center_sampling=False,
        objectness=('centerness', ),
        conditional=False,
        objectness_sampling='center',
        iou_sampling_thr=None,
        score_mode='centerness',
        train_cls=False,
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
