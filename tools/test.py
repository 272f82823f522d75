"""Evaluate a checkpoint with an mmowp config (also what ``mim test mmowp`` runs)."""
import argparse
import os.path as osp

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)
from mmengine.runner import Runner

import mmowp  # noqa: F401  (registers mmowp, fixes checkpoint loading under torch >= 2.6)
from mmowp.utils.checkpoint import check_checkpoint_compatible
from mmowp.utils.config import add_runner_args, load_run_config
from mmowp.utils.console import quiet_console
from mmowp.utils.dist import setup_cpu_distributed
from mmowp.utils.tta import enable_tta
from mmowp.visualization import configure_visualizer


def parse_args():
    parser = argparse.ArgumentParser(description='Test (and evaluate) a detector (mmowp)')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file')
    parser.add_argument('--checkpoint', dest='checkpoint_opt', help='checkpoint file')
    parser.add_argument('--work-dir', help='the dir to save the evaluation metrics')
    parser.add_argument('--out', help='dump predictions to this pickle file')
    parser.add_argument('--show', action='store_true', help='show painted images in a window')
    parser.add_argument('--show-dir', help='save painted images to this dir (under work_dir)')
    parser.add_argument('--wait-time', type=float, default=2, help='seconds per shown image')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation (the config's tta_model / tta_pipeline, "
                        'else flip, as mmdet)')
    add_runner_args(parser)
    args = parser.parse_args()
    args.checkpoint = args.checkpoint or args.checkpoint_opt
    if not args.checkpoint:
        parser.error('a checkpoint is required (positional or --checkpoint)')
    return args


def main():
    args = parse_args()
    if not osp.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint {args.checkpoint!r} does not exist')
    quiet_console()
    cfg = load_run_config(args, phases=('test',))
    cfg.load_from = args.checkpoint
    if args.show or args.show_dir:
        vis = cfg.default_hooks.get('visualization')
        if vis is None:
            raise KeyError('--show / --show-dir need default_hooks.visualization in the config')
        vis.draw = True
        if args.show:
            vis.show, vis.wait_time = True, args.wait_time
        if args.show_dir:
            # absolute: DetVisualizationHook re-joins a relative dir with work_dir/timestamp
            # at every test iteration (mmdet 3.3.0), nesting it once per batch
            vis.test_out_dir = osp.abspath(osp.join(cfg.work_dir, args.show_dir))
        configure_visualizer(cfg)
    if args.tta:
        enable_tta(cfg)
    if args.out is not None:
        if not args.out.endswith(('.pkl', '.pickle')):
            raise ValueError(f'--out must be a .pkl or .pickle file, got {args.out!r}')
        cfg.test_evaluator = (list(cfg.test_evaluator) if isinstance(cfg.test_evaluator, list)
                              else [cfg.test_evaluator])
        cfg.test_evaluator.append(dict(type='DumpDetResults', out_file_path=args.out))
    setup_cpu_distributed(cfg)
    runner = Runner.from_cfg(cfg)
    quiet_console(runner.logger)
    # MMEngine only logs missing / mismatched weights; evaluating them would be meaningless
    model = runner.model
    while args.tta and hasattr(model, 'module'):  # [DDP ->] DetTTAModel -> the detector
        model = model.module
    check_checkpoint_compatible(model, args.checkpoint)
    runner.test()


if __name__ == '__main__':
    main()
