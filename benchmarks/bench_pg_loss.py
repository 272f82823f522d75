"""Extra training-step time of the policy-gradient loss (Rao et al., CVPR 2018) on top of
FCOS, same run.

A full R50-FPN forward/backward at 800x1333 is too slow to repeat on a 2-core CPU, so this
times the part that the loss changes: the FCOS head (4 stacked GN convs, 256 channels, 80
classes, strides 8..128) on precomputed R50-FPN-shaped features of an ``H x W`` image (default
800x1333, padded to 32), batch 2, 100 GT boxes per image, forward + ``loss_by_feat`` +
backward:

* ``FCOSHead``: mmdet's head (focal + IoU + centerness losses);
* ``PGFCOSHead``: the same head and weights, ``loss_pg`` (k = 10, 512 candidates per image,
  COCO IoU thresholds) in place of the focal loss (``replace_loss_cls=True``, the paper's
  recipe; the focal loss is still computed by the base head and dropped).

The two are interleaved (same warm state and background load) and the ratio of the best
(minimum) times is the headline; on CPU it uses process CPU time (all threads), less disturbed
by other processes than wall time; both are printed, and the loss alone
(``PolicyGradientLoss.forward`` + its backward) too. The overhead of a whole detector step
(backbone + neck + head) is smaller than the ratio printed here. Target: < 10% overhead.

    python benchmarks/bench_pg_loss.py [--scale 0.5] [--reps 3] [--threads 2]
"""
import argparse
import math
import os
import sys

import torch
from _common import silence_mmengine
from _timing import best, interleaved, median, timed
from mmdet.models.dense_heads import FCOSHead
from mmengine.structures import InstanceData

STRIDES = (8, 16, 32, 64, 128)
HEAD = dict(
    num_classes=80,
    in_channels=256,
    feat_channels=256,
    stacked_convs=4,
    strides=STRIDES,
    norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
    loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    loss_bbox=dict(type='IoULoss', loss_weight=1.0),
    loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))


def make_inputs(batch, height, width, num_gts, gen):
    pad_h, pad_w = math.ceil(height / 32) * 32, math.ceil(width / 32) * 32
    feats = [
        torch.randn(batch, 256, math.ceil(pad_h / s), math.ceil(pad_w / s), generator=gen)
        for s in STRIDES
    ]
    gts = []
    for _ in range(batch):
        wh = torch.rand(num_gts, 2, generator=gen) * torch.tensor([width, height]) * 0.3 + 8
        xy = torch.rand(num_gts, 2, generator=gen) * (torch.tensor([width, height]) - wh)
        gts.append(InstanceData(bboxes=torch.cat([xy, xy + wh], 1),
                                labels=torch.randint(0, 80, (num_gts, ), generator=gen)))
    metas = [dict(img_shape=(height, width), pad_shape=(pad_h, pad_w))] * batch
    return feats, gts, metas


LAST_LOSSES = {}


def train_step(head, feats, gts, metas):
    losses = head.loss_by_feat(*head(feats), gts, metas)
    sum(v for k, v in losses.items() if 'loss' in k).backward()
    return losses


def step(head, feats, gts, metas):
    """One training step of the head; returns its :class:`Timing`."""
    head.zero_grad(set_to_none=True)
    losses, t = timed(train_step, head, feats, gts, metas)
    LAST_LOSSES[type(head).__name__] = losses
    return t


def trained_like_candidates(gts, locs_per_img, num_classes, gen):
    """Flattened head outputs of a converged detector: every location a jittered copy of a GT
    box, scored high on its class, half of them assigned; the AP matching then runs in full
    (a random head's boxes rarely match anything)."""
    num_imgs, num_gts = len(gts), len(gts[0])
    img_inds = torch.arange(num_imgs).repeat_interleave(locs_per_img)
    src = torch.randint(0, num_gts, (len(img_inds), ), generator=gen)
    gt_boxes = torch.stack([gt.bboxes for gt in gts])[img_inds, src]
    gt_labels = torch.stack([gt.labels for gt in gts])[img_inds, src]
    bboxes = gt_boxes + torch.randn(len(img_inds), 4, generator=gen) * 8
    labels = torch.where(torch.rand(len(img_inds), generator=gen) < 0.5, gt_labels,
                         torch.full_like(gt_labels, num_classes))
    logits = torch.randn(len(img_inds), num_classes, generator=gen) - 4
    logits[torch.arange(len(img_inds)), gt_labels] += 4 + torch.randn(len(img_inds),
                                                                      generator=gen)
    return logits.requires_grad_(), bboxes, labels, img_inds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--scale', type=float, default=1.0, help='image size factor')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--gts', type=int, default=100, help='GT boxes per image')
    parser.add_argument('--samples', type=int, default=10, help='k')
    parser.add_argument('--candidates', type=int, default=512)
    parser.add_argument('--reps', type=int, default=3)
    parser.add_argument('--threads', type=int, default=2)
    args = parser.parse_args()
    # the repository's mmowp, not an installed copy
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from mmowp.models.dense_heads import PGFCOSHead
    torch.set_num_threads(args.threads)
    height, width = round(800 * args.scale), round(1333 * args.scale)
    gen = torch.Generator().manual_seed(0)
    feats, gts, metas = make_inputs(args.batch, height, width, args.gts, gen)

    torch.manual_seed(0)
    with silence_mmengine():
        fcos = FCOSHead(**HEAD)
        fcos.init_weights()
        pg = PGFCOSHead(**HEAD, replace_loss_cls=True,
                        loss_pg=dict(type='PolicyGradientLoss', num_samples=args.samples,
                                     num_candidates=args.candidates))
    pg.load_state_dict(fcos.state_dict())
    fcos.train()
    pg.train()

    # the loss alone, on the head's flattened outputs
    loss_times = []
    orig_forward = pg.loss_pg.forward

    def timed_forward(*a, **kw):
        out, t = timed(orig_forward, *a, **kw)
        loss_times.append(t)
        return out

    pg.loss_pg.forward = timed_forward

    print(f'FCOS head on R50-FPN-shaped features: {height}x{width}, batch {args.batch}, '
          f'{args.gts} GTs/image, k={args.samples}, {args.candidates} candidates/image, '
          f'{torch.get_num_threads()} threads')
    times = {name: [] for name in ('fcos', 'pg')}
    step(fcos, feats, gts, metas)  # warm-up
    step(pg, feats, gts, metas)
    loss_times.clear()
    for rep in range(args.reps):
        times['fcos'].append(step(fcos, feats, gts, metas))
        times['pg'].append(step(pg, feats, gts, metas))
        print(f'  rep {rep}: FCOS {times["fcos"][-1].wall:.2f}s  PG {times["pg"][-1].wall:.2f}s '
              '(wall)')
    for kind in ('cpu', 'wall'):
        base, ours = best(times['fcos'], kind), best(times['pg'], kind)
        print(f'{kind:>4} time, best of {args.reps}: FCOSHead step {base:.3f}s, '
              f'PGFCOSHead step {ours:.3f}s, ratio {ours / base:.3f}x '
              f'(overhead {100 * (ours / base - 1):+.1f}%)')
    base_wall = best(times['fcos'])
    loss_only = median(loss_times)
    print(f'PolicyGradientLoss.forward alone, this random head (median wall): '
          f'{loss_only * 1000:.1f} ms per batch; log vars: ' +
          ', '.join(f'{k}={float(v):.3f}' for k, v in LAST_LOSSES['PGFCOSHead'].items()
                    if k.startswith('pg_')))
    # a converged detector's candidates match GT boxes: time the loss on such inputs
    locs = sum(f.shape[-2] * f.shape[-1] for f in feats)
    cand = trained_like_candidates(gts, locs, 80, gen)

    def loss_and_backward():
        loss, log_vars = orig_forward(*cand, gts)
        loss.backward()
        return log_vars

    log_vars = loss_and_backward()  # warm-up
    real = median(interleaved({'pg': loss_and_backward}, args.reps, warmup=0)['pg'])
    print(f'PolicyGradientLoss.forward + backward, trained-like candidates (median wall): '
          f'{real * 1000:.1f} ms per batch = {100 * real / base_wall:.1f}% of the FCOSHead step; '
          f'log vars: ' + ', '.join(f'{k}={float(v):.3f}' for k, v in log_vars.items()))
    print('Target: overhead < 10% (the policy-gradient paper claims no computational '
          'overhead).')


if __name__ == '__main__':
    main()
