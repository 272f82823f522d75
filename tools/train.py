"""Train a detector with an mmowp config (also what ``mim train mmowp`` runs)."""
import argparse
import os
import os.path as osp
import sys

# Run from a checkout (tools/train.py), use that checkout's mmowp rather than an older
# installed copy; the installed copy under mmowp/.mim/tools (what mim runs) has no setup.py.
_REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if osp.isfile(osp.join(_REPO, 'setup.py')) and osp.isdir(osp.join(_REPO, 'mmowp')):
    sys.path.insert(0, _REPO)

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

import mmowp  # noqa: F401  (registers mmowp, fixes checkpoint loading under torch >= 2.6)
from mmowp.utils.config import apply_data_root
from mmowp.utils.dist import setup_cpu_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector (mmowp)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or the latest in work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=/data/coco/')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # accepted for `mim train`, which passes --gpus N / --device cpu to single-process runs
    parser.add_argument('--gpus', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--device', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
        apply_data_root(cfg, args.cfg_options.get('data_root'))
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
