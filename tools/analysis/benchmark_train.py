"""Training speed, peak memory and finite losses of configs on generated images.

    python tools/analysis/benchmark_train.py CONFIG [CONFIG ...] [--iters 100] [--warmup 10]
        [--batch-size 2] [--img-scale 1333 800] [--amp off on] [--device cuda]
        [--num-images 16] [--work-dir work_dirs/benchmark_train]

What ``tools/gpu_check.sh`` runs (the paper IoU-CS-IS config against mmdet's stock FCOS).
CONFIG is a config file or ``mmdet::<path>`` (a config shipped with mmdet, e.g.
``mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py``). Every config trains on the same
generated open-world images (written once under ``<work-dir>/data``), resized to exactly
``--img-scale`` (w h), ``--batch-size`` images per iteration, from randomly initialised
weights (no download). Each (config, AMP mode) pair runs in its own process, so the peak
memory of one run is not that of another; its full log is ``<work-dir>/<run>/run.log``.

Reported per run: iterations/s after ``--warmup`` iterations (CUDA synchronised), peak memory
(CUDA: ``torch.cuda.max_memory_allocated``; CPU: the process's peak resident set) and whether
every loss of every iteration was finite; then the ratios of each config to the first one
(same AMP mode) and of AMP to fp32 (same config). Written to ``<work-dir>/summary.json``.
Exit status 1 when a run fails or a loss is not finite.
"""
import argparse
import json
import math
import os
import os.path as osp
import subprocess
import sys
import time
from typing import Dict, List, Optional

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)


def resolve_config(path: str) -> str:
    """A config file path, with ``pkg::rel/path.py`` resolved inside the installed package."""
    if '::' in path:
        from mmengine.utils import get_installed_path
        pkg, rel = path.split('::', 1)
        full = osp.join(get_installed_path(pkg), '.mim', 'configs', rel)
    else:
        full = path
    if not osp.isfile(full):
        raise FileNotFoundError(f'config {path!r} not found ({full})')
    return full


def run_name(config: str, amp: bool) -> str:
    stem = osp.splitext(osp.basename(config.split('::')[-1]))[0]
    return f'{stem}_{"amp" if amp else "fp32"}'


def make_data(data_root: str, num_images: int, img_scale: List[int]) -> str:
    """Generated open-world images whose side is the shorter side of ``img_scale``."""
    from mmowp.datasets.generate import GeneratorConfig, generate
    side = int(min(img_scale))
    return generate(data_root, GeneratorConfig(
        num_train=num_images, num_val=1, image_size=side, min_size=max(4, side // 20),
        max_size=max(8, side * 2 // 5), seed=0))


def bench_config(cfg: 'Config', args: argparse.Namespace) -> 'Config':  # noqa: F821
    """The config with generated data, a short iteration loop and no evaluation/checkpoints."""
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        # exactly img_scale (w, h): every run and every image sees the same input size
        dict(type='Resize', scale=tuple(args.img_scale), keep_ratio=False),
        dict(type='RandomFlip', prob=0.5),
        dict(type='PackDetInputs')
    ]
    cfg.train_dataloader = dict(
        batch_size=args.batch_size, num_workers=args.workers,
        persistent_workers=args.workers > 0,
        sampler=dict(type='InfiniteSampler', shuffle=True),
        dataset=dict(type='OpenWorldCocoDataset', data_root=args.data_root,
                     known_classes='owd_base', ann_file='annotations/instances_train.json',
                     data_prefix=dict(img=''), filter_cfg=dict(filter_empty_gt=True),
                     pipeline=pipeline))
    for key in ('val_dataloader', 'test_dataloader', 'val_cfg', 'test_cfg', 'val_evaluator',
                'test_evaluator'):
        cfg[key] = None
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=args.iters,
                         val_interval=args.iters + 1)
    cfg.model.backbone.init_cfg = None  # no pretrained download; speed does not depend on it
    cfg.load_from, cfg.resume = None, False
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=10)
    cfg.custom_imports = dict(imports=['mmowp'], allow_failed_imports=False)
    if args.amp_run:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    cfg.work_dir = args.run_dir
    cfg.randomness = dict(seed=0)
    return cfg


def single_run(args: argparse.Namespace) -> dict:
    """Train one (config, AMP) pair in this process and return its measurements."""
    import torch
    from mmengine.config import Config
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    import mmowp  # noqa: F401
    from mmowp.utils.console import quiet_console

    quiet_console()
    cuda = args.device == 'cuda'
    if cuda and not torch.cuda.is_available():
        raise RuntimeError('--device cuda but torch.cuda.is_available() is False')
    cfg = bench_config(Config.fromfile(resolve_config(args.configs[0])), args)
    record: Dict[str, list] = {'t': [], 'losses': []}

    class Probe(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner: Runner) -> None:
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()

        def after_train_iter(self, runner: Runner, batch_idx: int,
                             data_batch: Optional[dict] = None,
                             outputs: Optional[dict] = None) -> None:
            if cuda:
                torch.cuda.synchronize()
            record['t'].append(time.perf_counter())
            record['losses'].append({k: float(torch.as_tensor(v).detach())
                                     for k, v in (outputs or {}).items()
                                     if k.startswith('loss')})

    runner = Runner.from_cfg(cfg)
    quiet_console(runner.logger)
    runner.register_hook(Probe())
    runner.train()
    t = record['t']
    warm = min(args.warmup, len(t) - 2)
    it_s = (len(t) - 1 - warm) / (t[-1] - t[warm]) if len(t) - 1 > warm else float('nan')
    if cuda:
        peak, kind = torch.cuda.max_memory_allocated() / 2**20, 'cuda max_memory_allocated'
    else:
        import resource
        peak, kind = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 'cpu peak RSS'
    bad = [i + 1 for i, row in enumerate(record['losses'])
           if not row or not all(math.isfinite(v) for v in row.values())]
    scaler = getattr(runner.optim_wrapper, 'loss_scaler', None)
    return dict(config=args.configs[0], amp=args.amp_run, device=args.device,
                iters=len(t), warmup=warm, batch_size=args.batch_size,
                img_scale=list(args.img_scale), iters_per_s=it_s, peak_mem_mib=peak,
                peak_mem_kind=kind, losses_finite=not bad, nonfinite_iters=bad[:20],
                first_losses=record['losses'][0] if record['losses'] else {},
                last_losses=record['losses'][-1] if record['losses'] else {},
                final_loss_scale=float(scaler.get_scale()) if scaler is not None else None)


def _ratio(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b and math.isfinite(a) and math.isfinite(b) else None


def summarize(results: List[dict], configs: List[str]) -> dict:
    """Ratios of each config to the first (same AMP mode) and of AMP to fp32 (same config)."""
    by = {(r['config'], r['amp']): r for r in results if 'iters_per_s' in r}
    ratios = []
    for amp in (False, True):
        ref = by.get((configs[0], amp))
        for c in configs[1:]:
            r = by.get((c, amp))
            if ref and r:
                ratios.append(dict(
                    what=f'{run_name(configs[0], amp)} / {run_name(c, amp)}',
                    iters_per_s=_ratio(ref['iters_per_s'], r['iters_per_s']),
                    peak_mem=_ratio(ref['peak_mem_mib'], r['peak_mem_mib'])))
    for c in configs:
        a, f = by.get((c, True)), by.get((c, False))
        if a and f:
            ratios.append(dict(what=f'{run_name(c, True)} / {run_name(c, False)}',
                               iters_per_s=_ratio(a['iters_per_s'], f['iters_per_s']),
                               peak_mem=_ratio(a['peak_mem_mib'], f['peak_mem_mib'])))
    ok = all(r.get('losses_finite') for r in results) and len(by) == len(results)
    return dict(runs=results, ratios=ratios, ok=ok)


def format_summary(summary: dict) -> str:
    """A markdown table of the runs and of the ratios."""
    fmt = lambda v, p: 'n/a' if v is None or not math.isfinite(v) else f'{v:.{p}f}'  # noqa: E731
    lines = ['| run | device | it/s | peak memory (MiB) | losses finite |', '|---|---|---|---|---|']
    for r in summary['runs']:
        name = run_name(r['config'], r['amp'])
        if 'error' in r:
            lines.append(f'| {name} | {r.get("device")} | failed: {r["error"]} | | |')
            continue
        finite = 'yes' if r['losses_finite'] else f'NO (iterations {r["nonfinite_iters"]})'
        lines.append(f'| {name} | {r["device"]} | {fmt(r["iters_per_s"], 2)} | '
                     f'{fmt(r["peak_mem_mib"], 0)} | {finite} |')
    if summary['ratios']:
        lines += ['', '| ratio | it/s | peak memory |', '|---|---|---|']
        lines += [f'| {q["what"]} | {fmt(q["iters_per_s"], 2)} | {fmt(q["peak_mem"], 2)} |'
                  for q in summary['ratios']]
    return '\n'.join(lines)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('configs', nargs='+', help='config files or mmdet::<path>')
    p.add_argument('--iters', type=int, default=100)
    p.add_argument('--warmup', type=int, default=10, help='iterations left out of it/s')
    p.add_argument('--batch-size', type=int, default=2)
    p.add_argument('--img-scale', type=int, nargs=2, default=[1333, 800], metavar=('W', 'H'))
    p.add_argument('--amp', nargs='+', choices=['off', 'on'], default=['off', 'on'],
                   help='AMP modes to run (AmpOptimWrapper needs CUDA)')
    p.add_argument('--device', choices=['cuda', 'cpu'], default='cuda')
    p.add_argument('--num-images', type=int, default=16, help='generated training images')
    p.add_argument('--workers', type=int, help='dataloader workers (default 4 cuda, 0 cpu)')
    p.add_argument('--work-dir', default='work_dirs/benchmark_train')
    # one run in this process (used by the driver)
    p.add_argument('--single', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--amp-run', action='store_true', help=argparse.SUPPRESS)
    p.add_argument('--data-root', help=argparse.SUPPRESS)
    p.add_argument('--run-dir', help=argparse.SUPPRESS)
    p.add_argument('--result', help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.workers is None:
        args.workers = 4 if args.device == 'cuda' else 0
    if args.iters < 2:
        p.error('--iters must be at least 2')
    if args.device == 'cpu' and 'on' in args.amp:
        p.error("--amp on needs --device cuda (MMEngine's AmpOptimWrapper refuses a CPU-only "
                'run); use --amp off on the CPU')
    return args


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    if args.single:
        result = single_run(args)
        with open(args.result, 'w') as f:
            json.dump(result, f, indent=1)
        return 0
    from mmowp.utils.console import install_warning_filters
    install_warning_filters()
    for c in args.configs:
        resolve_config(c)  # fail early, naming the config
    work_dir = osp.abspath(args.work_dir)
    data_root = osp.join(work_dir, 'data')
    make_data(data_root, args.num_images, args.img_scale)
    results = []
    for amp in [m == 'on' for m in args.amp]:
        for config in args.configs:
            name = run_name(config, amp)
            run_dir = osp.join(work_dir, name)
            os.makedirs(run_dir, exist_ok=True)
            result_file = osp.join(run_dir, 'result.json')
            if osp.exists(result_file):
                os.remove(result_file)
            cmd = [sys.executable, osp.abspath(__file__), config, '--single',
                   '--iters', str(args.iters), '--warmup', str(args.warmup),
                   '--batch-size', str(args.batch_size), '--img-scale',
                   *map(str, args.img_scale), '--device', args.device, '--amp', 'off',
                   '--workers', str(args.workers), '--data-root', data_root + '/',
                   '--run-dir', run_dir, '--result', result_file] + (['--amp-run'] if amp else [])
            env = dict(os.environ)
            if args.device == 'cpu':
                env['CUDA_VISIBLE_DEVICES'] = ''
            print(f'[benchmark] {name}: {args.iters} iterations, batch {args.batch_size}, '
                  f'{args.img_scale[0]}x{args.img_scale[1]}, {args.device} '
                  f'(log: {osp.join(run_dir, "run.log")})', flush=True)
            with open(osp.join(run_dir, 'run.log'), 'w') as log:
                proc = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
            if proc.returncode == 0 and osp.isfile(result_file):
                with open(result_file) as f:
                    results.append(json.load(f))
            else:
                results.append(dict(config=config, amp=amp, device=args.device,
                                    error=f'exit {proc.returncode}, see {run_dir}/run.log'))
    summary = summarize(results, args.configs)
    with open(osp.join(work_dir, 'summary.json'), 'w') as f:
        json.dump(summary, f, indent=1)
    print(format_summary(summary))
    print(f'[benchmark] {osp.join(work_dir, "summary.json")}')
    if not summary['ok']:
        print('[benchmark] FAILED: a run failed or a loss was not finite', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
