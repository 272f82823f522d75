"""Test-time augmentation for ``tools/test.py --tta``, as mmdet's ``tools/test.py --tta``.

The config's ``tta_model`` and ``tta_pipeline`` are used when it has them; otherwise mmdet's
defaults: ``DetTTAModel`` (boxes of all augmented views merged, then NMS) over a horizontal
flip and the unflipped image. One difference: the default ``tta_model`` takes its NMS and
``max_per_img`` from the detector's ``test_cfg`` (100 boxes on COCO, 300 on LVIS in the
paper configs) instead of mmdet's fixed 100, so ``AR@300`` is not cut to 100 boxes.
"""
import copy

from mmengine.config import Config, ConfigDict

#: The flip TTA of mmdet's ``tools/test.py`` (replaces the last transform, ``PackDetInputs``).
FLIP_TTA = dict(
    type='TestTimeAug',
    transforms=[[dict(type='RandomFlip', prob=1.), dict(type='RandomFlip', prob=0.)],
                [dict(type='PackDetInputs',
                      meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                                 'scale_factor', 'flip', 'flip_direction'))]])


def enable_tta(cfg: Config) -> Config:
    """Wrap ``cfg.model`` in its TTA model and give the test dataset the TTA pipeline.

    Args:
        cfg (Config): The test config; modified in place and returned.
    """
    if 'tta_model' not in cfg:
        test_cfg = cfg.model.get('test_cfg') or {}
        cfg.tta_model = dict(
            type='DetTTAModel',
            tta_cfg=dict(nms=copy.deepcopy(test_cfg.get('nms',
                                                        dict(type='nms', iou_threshold=0.5))),
                         max_per_img=test_cfg.get('max_per_img', 100)))
    if 'tta_pipeline' not in cfg:
        ds = cfg.test_dataloader.dataset
        while 'dataset' in ds:
            ds = ds['dataset']
        if not ds.get('pipeline') or ds.pipeline[-1].get('type') != 'PackDetInputs':
            raise ValueError('--tta without a tta_pipeline in the config needs a test pipeline '
                             'that ends with PackDetInputs (test_dataloader.dataset.pipeline)')
        cfg.tta_pipeline = copy.deepcopy(ds.pipeline)
        cfg.tta_pipeline[-1] = copy.deepcopy(FLIP_TTA)
    cfg.model = ConfigDict(**cfg.tta_model, module=cfg.model)
    cfg.test_dataloader.dataset.pipeline = cfg.tta_pipeline
    return cfg
