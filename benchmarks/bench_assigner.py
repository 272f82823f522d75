"""Time and memory of ATSS target assignment vs FCOS center sampling (issue 6).

One image, ``--num-gts`` random GT boxes (COCO-like sizes, default 100), an 800x1333 input
(``--img-size``) padded to 800x1344 and the 5 FPN levels of FCOS (strides 8..128, 22,400
locations). Compared, in the same run:

* ``fcos-cs``: stock mmdet ``FCOSHead.get_targets`` with ``center_sampling=True`` (radius 1.5),
  the reference (target: ATSS <= 1.3x its time);
* ``atss``: ``ATSSFCOSHead.get_targets`` with ``train_cfg.assigner=PointATSSAssigner(topk=9)``
  (virtual 8S anchors + mmdet's ``ATSSAssigner``, then the (l, t, r, b) targets);
* ``fcos``: stock ``FCOSHead.get_targets`` without center sampling, for context.

Time: median over ``--repeats`` calls, methods interleaved. Memory, each method in a fresh
subprocess: the peak resident-set growth during one call (Linux ``VmHWM`` after resetting it via
``/proc/self/clear_refs``; torch's CPU allocations are invisible to ``tracemalloc``) and the total
bytes torch allocates during the call (``torch.profiler`` with ``profile_memory=True``).

Usage: ``python benchmarks/bench_assigner.py [--num-gts 100] [--repeats 20] [--threads 1]
[--img-size 800 1333]``
"""
import argparse
import functools
import json
import math
import os
import subprocess
import sys

import torch
from _timing import interleaved, median

# 800x1333 padded to a multiple of 32 (800x1344), as FCOS's data preprocessor does
IMG_H, IMG_W = 800, 1333
STRIDES = [8, 16, 32, 64, 128]
METHODS = ('fcos-cs', 'atss', 'fcos')


def build(method):
    from mmdet.models.dense_heads import FCOSHead
    from mmdet.registry import MODELS

    import mmowp  # noqa: F401
    common = dict(num_classes=80, in_channels=8, feat_channels=8, stacked_convs=1,
                  strides=STRIDES, norm_on_bbox=True,
                  norm_cfg=dict(type='GN', num_groups=4, requires_grad=True))
    if method == 'fcos-cs':
        return FCOSHead(center_sampling=True, center_sample_radius=1.5, **common)
    if method == 'fcos':
        return FCOSHead(**common)
    return MODELS.build(dict(type='ATSSFCOSHead', **common,
                             train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9))))


def inputs(head, num_gts, img_h=IMG_H, img_w=IMG_W, seed=0):
    from mmengine.structures import InstanceData
    gen = torch.Generator().manual_seed(seed)
    pad_h, pad_w = math.ceil(img_h / 32) * 32, math.ceil(img_w / 32) * 32
    sizes = [(math.ceil(pad_h / s), math.ceil(pad_w / s)) for s in STRIDES]
    points = head.prior_generator.grid_priors(sizes, device='cpu')
    ctr = torch.rand(num_gts, 2, generator=gen) * torch.tensor([float(img_w), float(img_h)])
    # sides log-uniform from 1% to 88% of the image height (8..700 px at 800x1333)
    wh = torch.exp(torch.rand(num_gts, 2, generator=gen) * math.log(700 / 8)) * (8 / 800 * img_h)
    boxes = torch.cat([ctr - wh / 2, ctr + wh / 2], 1)
    boxes[:, 0::2] = boxes[:, 0::2].clamp(0, img_w)
    boxes[:, 1::2] = boxes[:, 1::2].clamp(0, img_h)
    labels = torch.randint(0, 80, (num_gts, ), generator=gen)
    return points, [InstanceData(bboxes=boxes, labels=labels)]


def _vm_hwm_kib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmHWM:'):
                return int(line.split()[1])
    raise RuntimeError('no VmHWM in /proc/self/status')


def _vm_rss_kib():
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS in /proc/self/status')


def memory_child(method, num_gts, threads, img_size):
    """Run in a subprocess: print JSON with the memory numbers of one call."""
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(threads)
    head = build(method)
    points, gt = inputs(head, num_gts, *img_size)
    with torch.no_grad():
        head.get_targets(points, gt)  # warm-up (lazy inits, allocator)
        rss0 = _vm_rss_kib()
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')  # reset VmHWM to the current RSS
        head.get_targets(points, gt)
        peak_growth = _vm_hwm_kib() - rss0
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            head.get_targets(points, gt)
    allocated = sum(e.self_cpu_memory_usage for e in prof.events()
                    if e.self_cpu_memory_usage > 0)
    print(json.dumps(dict(peak_rss_growth_mib=peak_growth / 1024,
                          allocated_mib=allocated / 2**20)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-gts', type=int, default=100)
    parser.add_argument('--repeats', type=int, default=20)
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--img-size', type=int, nargs=2, default=[IMG_H, IMG_W],
                        metavar=('H', 'W'), help='input size before padding to 32')
    parser.add_argument('--memory-child', choices=METHODS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.num_gts, args.threads, args.img_size)
        return
    torch.set_num_threads(args.threads)
    heads = {m: build(m) for m in METHODS}
    data = {m: inputs(heads[m], args.num_gts, *args.img_size) for m in METHODS}
    with torch.no_grad():
        times = interleaved(
            {m: functools.partial(heads[m].get_targets, *data[m]) for m in METHODS}, args.repeats)
    labels = {m: torch.cat(heads[m].get_targets(*data[m])[0]) for m in METHODS}
    num_points = sum(len(p) for p in data['atss'][0])
    h, w = args.img_size
    print(f'{args.num_gts} GTs, {h}x{w} input, {len(STRIDES)} levels, {num_points} locations, '
          f'torch threads={args.threads}, {args.repeats} repeats (median)')
    mem = {}
    for m in METHODS:
        out = subprocess.run(
            [sys.executable, __file__, '--memory-child', m, '--num-gts', str(args.num_gts),
             '--threads', str(args.threads), '--img-size', str(h), str(w)],
            capture_output=True, text=True, check=True, cwd=os.getcwd())
        mem[m] = json.loads(out.stdout.strip().splitlines()[-1])
    ref = median(times['fcos-cs'])
    print(f'{"method":10s} {"ms/img":>8s} {"x fcos-cs":>10s} {"positives":>10s} '
          f'{"peak RSS +MiB":>14s} {"allocated MiB":>14s}')
    for m in METHODS:
        t = median(times[m])
        print(f'{m:10s} {t * 1e3:8.2f} {t / ref:10.2f} {int((labels[m] < 80).sum()):10d} '
              f'{mem[m]["peak_rss_growth_mib"]:14.1f} {mem[m]["allocated_mib"]:14.1f}')
    ratio = median(times['atss']) / ref
    print(f'ATSS / FCOS center sampling time ratio: {ratio:.2f} (target <= 1.3)')
    for key, what in (('peak_rss_growth_mib', 'peak RSS growth'),
                      ('allocated_mib', 'bytes allocated')):
        ref_mem = mem['fcos-cs'][key]
        ratio_mem = f'{mem["atss"][key] / ref_mem:.2f}' if ref_mem > 0.05 else 'n/a (too small)'
        print(f'ATSS / FCOS center sampling {what} ratio: {ratio_mem}')


if __name__ == '__main__':
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main()
