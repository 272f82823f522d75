"""Train a detector with an mmowp config (also what ``mim train mmowp`` runs)."""
import argparse

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)
from mmengine.runner import Runner

import mmowp  # noqa: F401  (registers mmowp, fixes checkpoint loading under torch >= 2.6)
from mmowp.utils.checkpoint import check_checkpoint_complete, find_resumable_checkpoint
from mmowp.utils.config import add_runner_args, load_run_config
from mmowp.utils.console import quiet_console
from mmowp.utils.dist import setup_cpu_distributed
from mmowp.utils.model_zoo import add_load_from_adapter


def parse_args():
    parser = argparse.ArgumentParser(description='Train a detector (mmowp)')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true', help='enable automatic mixed precision')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr by (GPUs x batch size) / auto_scale_lr.base_batch_size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or the latest in work_dir')
    add_runner_args(parser)
    return parser.parse_args()


def main():
    args = parse_args()
    quiet_console()
    cfg = load_run_config(args, phases=('train', 'val'))
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:  # as mmdet's tools/train.py
        if 'base_batch_size' not in cfg.get('auto_scale_lr', {}):
            raise RuntimeError('--auto-scale-lr needs auto_scale_lr.base_batch_size in the config')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        # the newest *complete* checkpoint (truncated ones are skipped with a warning);
        # none yet: start as without --resume (a config's load_from still loads)
        found = find_resumable_checkpoint(cfg.work_dir)
        cfg.resume = found is not None
        cfg.load_from = found if found is not None else cfg.get('load_from')
    elif args.resume is not None:
        if '://' not in args.resume:
            check_checkpoint_complete(args.resume)  # a truncated file: say so, by name
        cfg.resume = True
        cfg.load_from = args.resume
    add_load_from_adapter(cfg)  # load_from: name new branches, clear error on a mismatch
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    quiet_console(runner.logger)
    runner.train()


if __name__ == '__main__':
    main()
