# Toy counterpart of RbA (Nayal et al., ICCV 2023) Table 2, row "RbA" with OoD data (§3.4, Eq. 6,
# supplementary A.3): RbA fine-tuning of the toy OWP-aware model. Outliers are novel shapes
# (hexagon, diamond, ellipse; arrow and lshape are kept unseen to measure generalisation) cut with
# their masks from a fixed pool of 300 training images (instances_train_all.json) and pasted with
# p_out; only the classification branch (cls_convs + conv_cls, the analogue of the paper's "MLP +
# linear") is trained, with the detection losses + the RbA loss (alpha 5; votes tanh(max(L_k, 0)) as
# the 'rej' score, so the loss is 0 wherever all 5 classes reject: a toy classifier whose logits
# stay <= 0 gets no RbA gradient; votes='raw', Eq. 6 on raw logits, reproduces the runs before this
# transfer, which pushed every logit down). Evaluated as the RbA scoring config. Toy deviations from
# the paper: p_out 0.5 instead of 0.1 and 100 iterations of batch 8 instead of 2000 of batch 16, so
# that the short CPU schedule sees enough outliers.
_base_ = './rba-score_fcos_toy_iou-cs-is_joint_owd-shapes.py'

model = dict(
    backbone=dict(norm_eval=True),  # frozen BN statistics too
    bbox_head=dict(type='RbAOWPFCOSHead',
                   loss_rba=dict(type='RbALoss', alpha=5.0, votes='positive', loss_weight=1.0)))
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
default_hooks = dict(checkpoint=dict(interval=max_iters))
