"""Config helpers shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import os
import os.path as osp
from typing import Optional

from mmengine.config import Config, ConfigDict, DictAction

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


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``tools/train.py`` and ``tools/test.py`` (and what ``mim`` passes)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=/data/coco/')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # accepted for `mim train/test`, which passes --gpus N / --device cpu to single processes
    parser.add_argument('--gpus', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--device', help=argparse.SUPPRESS)


def load_run_config(args: argparse.Namespace) -> Config:
    """Load ``args.config`` with the overrides of :func:`add_runner_args` and ``--work-dir``.

    ``--cfg-options`` are merged (``data_root`` moved into every dataloader and evaluator,
    see :func:`apply_data_root`); the work dir defaults to ``./work_dirs/<config name>``.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
        apply_data_root(cfg, args.cfg_options.get('data_root'))
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
