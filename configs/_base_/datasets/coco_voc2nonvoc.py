# COCO 2017, open-world split of FCOS-OWP §5: train on the 20 PASCAL VOC classes (base), the
# images keep their unannotated non-VOC objects; evaluate with OpenWorldCocoMetric: base AP,
# class-agnostic base AR@10/100 and novel (60 non-VOC classes) AR@10/100 - one Table 1 row.
# Boxes per image are capped by the model's test_cfg.max_per_img (100 for COCO).
# Override the location with --cfg-options data_root=... (train/val dataloaders follow it).
dataset_type = 'OpenWorldCocoDataset'
data_root = 'data/coco/'
known_classes = 'voc'
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
        ann_file='annotations/instances_train2017.json',
        data_prefix=dict(img='train2017/'),
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
        ann_file='annotations/instances_val2017.json',
        data_prefix=dict(img='val2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader

# ann_file holds all 80 classes: the novel GT the metric needs. class_agnostic comes from the
# model (ClassAgnosticFromModelHook): a class-agnostic proposal model (one "object" label)
# reports base AP as N/A.
val_evaluator = dict(
    type='OpenWorldCocoMetric',
    ann_file=data_root + 'annotations/instances_val2017.json',
    known_classes=known_classes,
    proposal_nums=(10, 100),
    exclude_known_from_budget=True,
    backend_args=backend_args)
test_evaluator = val_evaluator
