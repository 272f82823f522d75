# LVIS v1 base -> novel (as ./lvis_v1_base2novel.py) trained with mmdet's LVIS recipe instead of
# the paper's: multi-scale resizing (shorter side one of 640-800, mmdet's lvis_v1_instance.py) and
# repeat-factor sampling (ClassBalancedDataset, oversample_thr 1e-3). Not an FCOS-OWP setting
# (§5.3: on LVIS "all settings are the same as on COCO dataset except ... 300 detection
# results"); kept to compare against LVIS models trained the mmdet way. Validation, test and
# evaluation are the paper file's.
_base_ = './lvis_v1_base2novel.py'

dataset_type = 'OpenWorldLVISV1Dataset'
data_root = 'data/lvis_v1/'
known_classes = 'lvis_base'
backend_args = None

train_pipeline = [
    dict(type='CheckedLoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomChoiceResize',
         scales=[(1333, 640), (1333, 672), (1333, 704), (1333, 736), (1333, 768),
                 (1333, 800)],
         keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='ClassBalancedDataset',
        oversample_thr=1e-3,
        dataset=dict(
            type=dataset_type,
            data_root=data_root,
            known_classes=known_classes,
            ann_file='annotations/lvis_v1_train.json',
            data_prefix=dict(img=''),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=train_pipeline,
            backend_args=backend_args)))
