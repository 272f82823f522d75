"""Evaluate a checkpoint with an mmowp config (also what ``mim test mmowp`` runs)."""
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
from mmowp.utils.checkpoint import check_checkpoint_compatible
from mmowp.utils.config import apply_data_root
from mmowp.utils.dist import setup_cpu_distributed
from mmowp.visualization import configure_visualizer


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector (mmowp)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument('--checkpoint', dest='checkpoint_opt', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument('--show-dir', help='save painted images to this dir (under work_dir)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=/data/coco/')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--gpus', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--device', help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.checkpoint = args.checkpoint or args.checkpoint_opt
    if not args.checkpoint:
        parser.error('a checkpoint is required (positional or --checkpoint)')
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
        apply_data_root(cfg, args.cfg_options.get('data_root'))
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    if args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise KeyError('--show-dir needs default_hooks.visualization in the config')
        vis.draw = True
        # absolute: DetVisualizationHook re-joins a relative dir with work_dir/timestamp
        # at every test iteration (mmdet 3.3.0), nesting it once per batch
        vis.test_out_dir = osp.abspath(osp.join(cfg.work_dir, args.show_dir))
        configure_visualizer(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out!r}')
        cfg.test_evaluator = (list(cfg.test_evaluator) if isinstance(cfg.test_evaluator, list)
                              else [cfg.test_evaluator])
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    # MMEngine only logs missing / mismatched weights; evaluating them would be meaningless
    check_checkpoint_compatible(runner.model, args.checkpoint)
    runner.test()


if __name__ == '__main__':
    main()
