# RbA (Nayal et al., ICCV 2023) Table 2, row "RbA" with OoD data (§3.4, Eq. 6; supplementary A.3,
# Tables 6-7): RbA fine-tuning of the OWP-aware FCOS (COCO VOC -> non-VOC). From the trained joint
# checkpoint, only the classification branch (cls_convs + conv_cls, the analogue of the paper's "MLP
# + linear") is trained, for 2000 iterations of batch 16, with the detection losses + the RbA loss
# (alpha 5, the paper's value). The loss uses the votes tanh(max(L_k, 0)) of the 'rej' score
# (votes='positive'): 0 at an outlier location that all 20 classes reject, a gradient on exactly the
# classes that fire there. votes='raw' (Eq. 6 on raw logits) would be inactive here: with K = 20 >
# alpha + 2 it gives no signal even where one class fires confidently. Outliers: 300 COCO train
# images without any VOC object, drawn once (seed 0); with p_out = 0.1 per image one of their
# non-VOC objects is cut with its mask and pasted. Optimiser: the closed-set (90k) setting
# restarted, polynomial decay (as the paper's fine-tuning). Caveat: on COCO VOC -> non-VOC the
# outlier classes are the evaluation's novel classes (the paper's outliers, COCO objects, are
# disjoint from its road-anomaly test objects); see README.
_base_ = '../owp_aware/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc.py'

load_from = 'work_dirs/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc/iter_90000.pth'

model = dict(
    bbox_head=dict(
        type='RbAOWPFCOSHead',
        score_mode='iou*rej',
        loss_rba=dict(type='RbALoss', alpha=5.0, votes='positive', loss_weight=1.0)),
    test_cfg=dict(score_thr=0.0, return_unknown_maps=True))
# evaluated as ./rba-score-*: open-world AR of the iou * rej proposals and unknown-vs-known
data_root = 'data/coco/'  # as the base; tools/test.py --cfg-options data_root=... moves it
val_ann = data_root + 'annotations/instances_val2017.json'
val_evaluator = [
    dict(type='OpenWorldCocoMetric', ann_file=val_ann, known_classes='voc',
         class_agnostic=True, proposal_nums=(10, 100)),
    dict(type='UnknownDetectionMetric', ann_file=val_ann, known_classes='voc'),
]
test_evaluator = val_evaluator
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    # after the geometric transforms: the outlier boxes are not moved by later transforms
    dict(type='OutlierPaste', ann_file='annotations/instances_train2017.json',
         data_root='data/coco/', img_prefix='train2017/', exclude_classes='voc',
         clean_images=True, pool_size=300, p_out=0.1, seed=0),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                    'flip_direction', 'outlier_bboxes')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
# everything but the classification branch is frozen (the backbone's BN is already in eval mode)
optim_wrapper = dict(
    constructor='FreezeOptimWrapperConstructor',
    paramwise_cfg=dict(frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs',
                                    'bbox_head.conv_reg', 'bbox_head.scales',
                                    'bbox_head.conv_iou']))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
max_iters = 2000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [dict(type='PolyLR', power=0.9, eta_min=0.0, by_epoch=False, begin=0,
                        end=max_iters)]
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=max_iters))
