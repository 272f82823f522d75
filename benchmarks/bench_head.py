"""Training-step and inference time of OWPFCOSHead vs mmdet FCOSHead, same run, same input.

R50-FPN-shaped input: 256 channels, 5 levels (strides 8..128) of an ``H x W`` image, batch
``B`` (default 800x1216, batch 2; use ``--scale 0.5`` on a slow CPU). Both heads have the
paper's head (4 stacked GN convs, 256 channels, 20 classes, center sampling). The OWP head is
the IoU + conditional head of Table 1 ("Conditional IOU-CS-IS"). Runs of the two heads are
interleaved (same warm state and background load for both); the ratio of the best
(minimum) times is the headline number, the median ratio is printed too. On CPU the headline
uses process CPU time (all threads), which other processes on a shared machine disturb much
less than wall-clock time; both are printed. Targets: training
<= 1.05x, inference <= 1.03x.

    python benchmarks/bench_head.py [--scale 0.5] [--reps 5] [--threads 2]
"""
import argparse
import functools
import math

import torch
from _common import silence_mmengine
from _timing import best, interleaved, median
from mmdet.models.dense_heads import FCOSHead
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmowp  # noqa: F401
from mmowp.models.dense_heads import OWPFCOSHead

STRIDES = (8, 16, 32, 64, 128)
TIME_KIND = 'cpu'  # set from --time


def build(cls, **kwargs):
    head = cls(num_classes=20, in_channels=256, feat_channels=256, stacked_convs=4,
               strides=STRIDES, center_sampling=True, centerness_on_reg=True,
               norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
               test_cfg=ConfigDict(nms_pre=2000, min_bbox_size=0, score_thr=0.05,
                                   nms=dict(type='nms', iou_threshold=0.5), max_per_img=100),
               **kwargs)
    with silence_mmengine():
        head.init_weights()
    return head


def make_inputs(h, w, batch, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = [torch.randn(batch, 256, math.ceil(h / s), math.ceil(w / s), generator=g)
             for s in STRIDES]
    gts, metas = [], []
    for _ in range(batch):
        n = 8
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.7, h * 0.7])
        wh = (torch.rand(n, 2, generator=g) * 0.3 + 0.02) * torch.tensor([w, h])
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(0, 20, (n, ), generator=g)))
        metas.append(dict(img_shape=(h, w), pad_shape=(h, w), scale_factor=(1., 1.)))
    return feats, gts, metas


def train_step(head, feats, gts, metas):
    head.train()
    head.zero_grad(set_to_none=True)
    x = [f.detach().requires_grad_(True) for f in feats]
    losses = head.loss_by_feat(*head(x), gts, metas)
    sum(losses.values()).backward()


@torch.no_grad()
def infer(head, feats, gts, metas):
    head.eval()
    head.predict_by_feat(*head(feats), batch_img_metas=metas)


def compare(name, ref, owp, fn, inputs, reps, sync=None):
    times = interleaved({'ref': functools.partial(fn, ref, *inputs),
                         'owp': functools.partial(fn, owp, *inputs)}, reps, sync=sync)
    ratios = {}
    for kind in ('cpu', 'wall'):
        b_ref, b_owp = best(times['ref'], kind), best(times['owp'], kind)
        m_ref, m_owp = median(times['ref'], kind), median(times['owp'], kind)
        ratios[kind] = b_owp / b_ref
        print(f'{name:<42s} {kind:>4s}: FCOSHead {b_ref * 1e3:8.1f} ms  OWPFCOSHead '
              f'{b_owp * 1e3:8.1f} ms  ratio {b_owp / b_ref:.3f} (best of {reps}; median '
              f'ratio {m_owp / m_ref:.3f})')
    return ratios[TIME_KIND]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--height', type=int, default=800)
    parser.add_argument('--width', type=int, default=1216)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--scale', type=float, default=1.0, help='multiplies height and width')
    parser.add_argument('--reps', type=int, default=5)
    parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--time', choices=['cpu', 'wall'], default='cpu',
                        help='time of the headline ratio: process CPU time (robust to other '
                        'processes on a shared machine) or wall clock')
    args = parser.parse_args()
    global TIME_KIND
    TIME_KIND = 'wall' if args.device.startswith('cuda') else args.time
    if args.threads:
        torch.set_num_threads(args.threads)
    h, w = int(args.height * args.scale), int(args.width * args.scale)
    device = torch.device(args.device)
    feats, gts, metas = make_inputs(h, w, args.batch)
    feats = [f.to(device) for f in feats]
    gts = [g.to(device) for g in gts]
    sync = torch.cuda.synchronize if device.type == 'cuda' else None
    print(f'input: batch {args.batch}, image {h}x{w}, 256 ch, levels '
          f'{[tuple(f.shape[-2:]) for f in feats]}, device {device}, '
          f'threads {torch.get_num_threads()}, {args.reps} interleaved runs each')

    torch.manual_seed(0)
    ref = build(FCOSHead).to(device)
    owp_kw = dict(objectness=('iou', ), conditional=True, iou_sampling_thr=0.3)
    owp = build(OWPFCOSHead, score_mode='cls*iou', **owp_kw).to(device)
    owp_frozen = build(OWPFCOSHead, score_mode='iou', train_cls=False, **owp_kw).to(device)
    inputs = (feats, gts, metas)
    r_train = compare('train step (IoU+cond, classifier trained)', ref, owp, train_step,
                      inputs, args.reps, sync)
    r_inf = compare('inference (IoU+cond, score cls*iou)', ref, owp, infer, inputs, args.reps,
                    sync)
    compare('train step (OWP recipe: train_cls=False)', ref, owp_frozen, train_step, inputs,
            args.reps, sync)
    compare('inference (OWP recipe: score iou)', ref, owp_frozen, infer, inputs, args.reps,
            sync)
    print(f'targets: train <= 1.05 -> {"OK" if r_train <= 1.05 else "MISSED"} ({r_train:.3f}); '
          f'inference <= 1.03 -> {"OK" if r_inf <= 1.03 else "MISSED"} ({r_inf:.3f})')


if __name__ == '__main__':
    main()
