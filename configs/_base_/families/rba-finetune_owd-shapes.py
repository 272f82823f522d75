# Family of the toy counterparts of the RbA (Nayal et al., ICCV 2023) fine-tuning rows
# (configs/toy/rba-finetune-*, rba-open-set-*): RbA fine-tuning (§3.4, Eq. 6, supplementary A.3)
# of the toy OWP-aware joint model
# (configs/toy/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py; train it first, or
# set load_from), evaluated as the RbA scoring config
# (configs/toy/rba-score-owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py), on the toy
# model, data, schedule and runtime of ../toy_base.py. Outliers are novel shapes (hexagon,
# diamond, ellipse; arrow and lshape are kept unseen to measure generalisation) cut with their
# masks from a fixed pool of 300 training images (instances_train_all.json) and pasted with
# p_out; only the classification branch (cls_convs + conv_cls, the analogue of the paper's "MLP +
# linear") is trained, with the detection losses + the RbA loss (alpha 5; votes tanh(max(L_k, 0))
# as the 'rej' score, so the loss is 0 wherever all 5 classes reject: a toy classifier whose
# logits stay <= 0 gets no RbA gradient; votes='raw', Eq. 6 on raw logits, reproduces the runs
# before this transfer, which pushed every logit down). Toy deviations from the paper: p_out 0.5
# instead of 0.1 and 100 iterations of batch 8 instead of 2000 of batch 16, so that the short CPU
# schedule sees enough outliers. Not a paper row: the fine-tuning row inherits it unchanged, the
# open-set row changes the scores and the evaluator.
_base_ = [
    '../models/fcos_toy.py', '../datasets/owd_shapes.py', '../schedules/schedule_toy.py',
    '../default_runtime.py'
]

# the toy runtime of ../toy_base.py, restated (inheriting that file would put the leaves at 5
# files); its hooks are at the end, with the fine-tuning's checkpoint interval
randomness = dict(seed=0)
env_cfg = dict(cudnn_benchmark=False)

# the OWP-aware joint head (./owp-aware-joint_owd-shapes.py) with the RbA scores and loss
load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes/iter_1500.pth'
model = dict(
    backbone=dict(norm_eval=True),  # frozen BN statistics too
    bbox_head=dict(
        type='RbAOWPFCOSHead',
        centerness_on_reg=True,
        center_sampling=True,
        objectness=('iou', ),
        conditional=False,
        objectness_sampling='center',
        iou_sampling_thr=0.3,
        score_mode='iou*rej',
        train_cls=True,
        loss_iou=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0),
        loss_rba=dict(type='RbALoss', alpha=5.0, votes='positive', loss_weight=1.0)),
    test_cfg=dict(score_thr=0.0, return_unknown_maps=True))
# evaluated as the RbA scoring config: open-world AR of the iou * rej proposals and unknown vs
# known; unknown = all 5 novel shapes; "heldout" = the 2 novel shapes that the fine-tuning never
# pastes (its pool is hexagon, diamond, ellipse)
data_root = 'data/owd_shapes/'  # as the base; tools/train.py --data-root moves the ann_files
val_ann = data_root + 'annotations/instances_val.json'
val_evaluator = [
    dict(type='OpenWorldCocoMetric', ann_file=val_ann, known_classes='owd_base',
         class_agnostic=True, proposal_nums=(10, 100)),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='owd_base'),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='owd_base',
         novel_classes=['arrow', 'lshape'], prefix='unknown_heldout'),
]
test_evaluator = val_evaluator
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    # after the geometric transforms: the outlier boxes are not moved by later transforms
    dict(type='OutlierPaste', ann_file='annotations/instances_train_all.json',
         data_root='data/owd_shapes/', exclude_classes='owd_base',
         pool_classes=['hexagon', 'diamond', 'ellipse'], pool_size=300, p_out=0.5, seed=0),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                    'flip_direction', 'outlier_bboxes')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# everything but the classification branch is frozen
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs',
                                    'bbox_head.conv_reg', 'bbox_head.scales',
                                    'bbox_head.conv_iou']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
max_iters = 100
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
                        end=max_iters)]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=200),
    checkpoint=dict(by_epoch=False, interval=max_iters, max_keep_ckpts=1))
