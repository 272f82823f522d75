# LVIS v1, open-world split of FCOS-OWP §5: base = all rare + all common + the first 305
# frequent categories (by id), novel = the last 100 frequent ones; computed from the json's
# categories. Evaluation as Table 2: base AP (lvis API, federated), class-agnostic base and
# novel AR@300. Models should keep 300 boxes per image (test_cfg.max_per_img=300).
# Training as the paper: FCOS-OWP §5.3, "all settings are the same as on COCO dataset except
# that on LVIS the detection output 300 detection results instead of 100": the COCO pipeline
# (single scale 1333x800, flip) and no class-balanced sampling. mmdet's LVIS recipe (multi-scale
# 640-800 and ClassBalancedDataset, oversample_thr 1e-3) is the named variant
# ./lvis_v1_base2novel_mmdet-recipe.py.
# Override the location with --cfg-options data_root=... (train/val dataloaders follow it).
dataset_type = 'OpenWorldLVISV1Dataset'
data_root = 'data/lvis_v1/'
known_classes = 'lvis_base'
backend_args = None

train_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(1333, 800), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=2,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    batch_sampler=dict(type='AspectRatioBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        known_classes=known_classes,
        ann_file='annotations/lvis_v1_train.json',
        data_prefix=dict(img=''),
        filter_cfg=dict(filter_empty_gt=True, min_size=32),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=1,
    num_workers=2,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        known_classes=known_classes,
        ann_file='annotations/lvis_v1_val.json',
        data_prefix=dict(img=''),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

val_evaluator = dict(
    type='OpenWorldCocoMetric',
    ann_file=data_root + 'annotations/lvis_v1_val.json',
    known_classes=known_classes,
    proposal_nums=(300, ),
    ann_format='lvis',
    exclude_known_from_budget=True,
    prefix='lvis',
    backend_args=backend_args)
test_evaluator = val_evaluator
