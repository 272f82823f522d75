"""Config helpers shared by ``tools/train.py`` and ``tools/test.py``."""
from typing import Optional

from mmengine.config import Config, ConfigDict

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')


def _datasets(loader_cfg: ConfigDict) -> list:
    """The dataset dicts of a dataloader config, looking through dataset wrappers."""
    found, stack = [], [loader_cfg.get('dataset')]
    while stack:
        ds = stack.pop()
        if isinstance(ds, (list, tuple)):
            stack.extend(ds)
        elif isinstance(ds, dict):
            if 'dataset' in ds or 'datasets' in ds:
                stack.append(ds.get('dataset', ds.get('datasets')))
            else:
                found.append(ds)
    return found


def apply_data_root(cfg: Config, data_root: Optional[str]) -> Config:
    """Point every dataloader and evaluator of ``cfg`` at a new ``data_root``.

    MMEngine resolves ``data_root`` when the config file is read, so
    ``--cfg-options data_root=/data/coco/`` alone only changes the top-level variable.
    This moves the datasets' ``data_root`` and the evaluators' ``ann_file`` (when it was
    given relative to the old root) to the new root.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        data_root (str, optional): The new root; ``None`` leaves ``cfg`` unchanged.
    """
    if not data_root:
        return cfg
    if not data_root.endswith('/'):
        data_root = data_root + '/'
    old_roots = set()
    for key in _DATALOADERS:
        if cfg.get(key) is None:
            continue
        for ds in _datasets(cfg[key]):
            if ds.get('data_root'):
                old_roots.add(ds['data_root'])
            ds['data_root'] = data_root
    for key in _EVALUATORS:
        evaluators = cfg.get(key)
        if evaluators is None:
            continue
        for ev in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
            ann_file = ev.get('ann_file')
            if not ann_file:
                continue
            for old in sorted(old_roots, key=len, reverse=True):
                if ann_file.startswith(old):
                    ev['ann_file'] = data_root + ann_file[len(old):]
                    break
    cfg['data_root'] = data_root
    return cfg
