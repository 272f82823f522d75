"""IoU Sampling as FCOS-OWP §3.2 and Figure 3 describe it, on a hand-drawn two-box map.

Figure 3: "We have two ground-truths boxes, where a black + indicates a foreground sample.
The orange circle represents the center-sampling, where the red points are center-sampled.
On the right figure, we apply our IOU Sampling technique to create blue +, which are
hard-negative samples."
"""
import pytest
import torch
import torch.nn.functional as F
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

import mmowp  # noqa: F401  (registration)
from mmowp.models.dense_heads import OWPFCOSHead

from ._helpers import head_cfg, instances, metas

STRIDES = (8, 16)
IMG = 64
GT_A = (2., 2., 30., 30.)    # covers x, y in {4, 12, 20, 28} of the stride-8 level
GT_B = (34., 18., 62., 58.)  # covers x in {36, 44, 52, 60}, y in {20, 28, 36, 44, 52}
# The stride-8 level, rows y = 4, 12, ..., 60, columns x = 4, 12, ..., 60:
#   .  background                    +  foreground, good box: not sampled
#   P  center-sampled, IoU kept      0  center-sampled, IoU < 0.3: target 0 (relabelled)
#   H  foreground, IoU < 0.3: hard negative (Figure 3's blue +), target 0
# Predicted boxes are perfect (IoU 1) except at the locations drawn with a bad box: (4, 4)
# in A and every location of B with x >= 52 (a 2x2 box, IoU < 0.02).
FIGURE3 = """
H + + + . . . .
+ P P + . . . .
+ P P + + + H H
+ + + + + P 0 H
. . . . + P 0 H
. . . . + P 0 H
. . . . + + H H
. . . . . . . .
"""


def grid() -> list:
    return [row.split() for row in FIGURE3.strip().splitlines()]


def make_head(**kwargs) -> OWPFCOSHead:
    # the stride-16 level takes no box (regress range), so its locations inside A or B are
    # not FCOS foreground: IoU Sampling must not sample them even with a bad box
    cfg = dict(center_sampling=True, center_sample_radius=1.5, objectness=('iou', ),
               score_mode='iou', iou_sampling_thr=0.3, train_cls=False, centerness_on_reg=True)
    cfg.update(kwargs)
    return OWPFCOSHead(**head_cfg(num_classes=2, channels=16, stacked_convs=1, strides=STRIDES,
                                  regress_ranges=((-1, 1e8), (1e7, 1e8)), num_groups=4,
                                  test_cfg=None, **cfg))


def bad_box(x: float, y: float, box: tuple) -> bool:
    return (box == GT_A and (x, y) == (4., 4.)) or (box == GT_B and x >= 52)


def predicted_distances() -> list:
    """Per level (1, 4, H, W) distances (l, t, r, b) in pixels, as drawn above."""
    out = []
    for stride in STRIDES:
        n = IMG // stride
        pred = torch.ones(1, 4, n, n)  # 2x2 boxes outside the GT
        for i in range(n):
            for j in range(n):
                x, y = j * stride + stride / 2, i * stride + stride / 2
                for box in (GT_A, GT_B):
                    x1, y1, x2, y2 = box
                    if x1 < x < x2 and y1 < y < y2 and not bad_box(x, y, box):
                        pred[0, :, i, j] = torch.tensor([x - x1, y - y1, x2 - x, y2 - y])
        out.append(pred)
    return out


def gt() -> InstanceData:
    return instances([GT_A, GT_B], [0, 1])


def oracle_iou(x: float, y: float, pred: torch.Tensor, box: tuple) -> float:
    """IoU of the decoded predicted box with the GT box (mmdet's bbox_overlaps)."""
    left, top, right, bottom = pred.tolist()
    return float(bbox_overlaps(torch.tensor([[x - left, y - top, x + right, y + bottom]]),
                               torch.tensor([box]))[0, 0])


def expected_samples(mode: str) -> tuple:
    """Sampled locations of the stride-8 level (flat index i * 8 + j) and their targets,
    read off the drawing, IoU targets from the oracle."""
    pred = predicted_distances()[0][0]
    inds, targets = [], []
    for i, row in enumerate(grid()):
        for j, mark in enumerate(row):
            x, y = j * 8 + 4., i * 8 + 4.
            box = GT_A if x < 32 else GT_B
            if mark == 'P':
                iou = oracle_iou(x, y, pred[:, i, j], box)
                assert iou >= 0.3
                inds.append(i * 8 + j)
                targets.append(iou)
            elif mark == '0' or (mark == 'H' and mode == 'hard_negatives'):
                assert oracle_iou(x, y, pred[:, i, j], box) < 0.3
                inds.append(i * 8 + j)
                targets.append(0.0)
    order = sorted(range(len(inds)), key=inds.__getitem__)
    return [inds[k] for k in order], torch.tensor([targets[k] for k in order])


def sampled(head: OWPFCOSHead) -> tuple:
    """The IoU branch's samples of the head on the drawing, sorted by location."""
    bbox = predicted_distances()
    points = head.prior_generator.grid_priors([b.shape[-2:] for b in bbox], device='cpu')
    labels, targets = head.get_targets(points, [gt()])
    inside, regions = head.get_objectness_regions(points, [gt()])
    fg_labels, fg_targets = head.get_foreground_targets(points, [gt()])
    inds, iou = head.get_objectness_targets(
        torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox]), torch.cat(targets),
        torch.cat(labels) < 2, torch.cat(inside), torch.cat(regions),
        torch.cat(fg_labels) < 2, torch.cat(fg_targets))['iou']
    order = inds.argsort()
    return inds[order].tolist(), iou[order]


def test_drawing_is_what_fcos_center_sampling_gives():
    head = make_head()
    bbox = predicted_distances()
    points = head.prior_generator.grid_priors([b.shape[-2:] for b in bbox], device='cpu')
    labels, _ = head.get_targets(points, [gt()])
    fg_labels, _ = head.get_foreground_targets(points, [gt()])
    drawn = grid()
    pos = (labels[0] < 2).reshape(8, 8).tolist()
    fg = (fg_labels[0] < 2).reshape(8, 8).tolist()
    assert pos == [[m in 'P0' for m in row] for row in drawn]
    assert fg == [[m != '.' for m in row] for row in drawn]
    assert not (labels[1] < 2).any() and not (fg_labels[1] < 2).any()
    # get_foreground_targets leaves center sampling and the assigner as they were
    assert head.center_sampling and head.assigner is None


@pytest.mark.parametrize('mode', ['hard_negatives', 'relabel'])
def test_figure3_samples_and_targets(mode):
    inds, targets = sampled(make_head(iou_sampling=mode))
    exp_inds, exp_targets = expected_samples(mode)
    assert inds == exp_inds
    torch.testing.assert_close(targets, exp_targets)


def test_hard_negatives_are_the_default():
    assert make_head().iou_sampling == 'hard_negatives'
    assert sampled(make_head())[0] == expected_samples('hard_negatives')[0]


@pytest.mark.parametrize('mode', ['hard_negatives', 'relabel'])
def test_iou_loss_averages_over_the_sampled_locations(mode):
    """loss_iou = sum of BCE over the sampled locations / their number (positives plus hard
    negatives): the mean over the locations that train the branch, as All Sampling."""
    head = make_head(iou_sampling=mode)
    bbox = predicted_distances()
    g = torch.Generator().manual_seed(0)
    logits = [torch.randn(1, 1, IMG // s, IMG // s, generator=g) for s in STRIDES]
    cls = [torch.zeros(1, 2, IMG // s, IMG // s) for s in STRIDES]
    losses = head.loss_by_feat(cls, bbox, logits, [gt()], metas(1, (IMG, IMG)))
    inds, targets = expected_samples(mode)
    pred = logits[0].reshape(-1)[inds]
    expected = F.binary_cross_entropy_with_logits(pred, targets, reduction='sum') / len(inds)
    torch.testing.assert_close(losses['loss_iou'], expected)


def test_hard_negatives_exclude_the_assigners_positives():
    """With ATSS the positives come from the assigner; hard negatives are the FCOS foreground
    locations with a bad box that the assigner did not take."""
    head = make_head(center_sampling=False,
                     train_cfg=ConfigDict(assigner=dict(type='PointATSSAssigner', topk=9)))
    bbox = predicted_distances()
    points = head.prior_generator.grid_priors([b.shape[-2:] for b in bbox], device='cpu')
    labels, _ = head.get_targets(points, [gt()])
    pos = torch.cat(labels) < 2
    inds, targets = sampled(head)
    drawn = [m for row in grid() for m in row]
    bad = torch.zeros(len(pos), dtype=torch.bool)
    bad[:64] = torch.tensor([m in 'H0' for m in drawn])
    assert set(inds) == set(pos.nonzero().reshape(-1).tolist()) | set(
        (bad & ~pos).nonzero().reshape(-1).tolist())
    assert (targets[[k for k, i in enumerate(inds) if not pos[i]]] == 0).all()


def test_all_sampling_is_unchanged_by_the_mode():
    """All Sampling already trains every location; IoU Sampling there only relabels."""
    a = sampled(make_head(objectness_sampling='all'))
    b = sampled(make_head(objectness_sampling='all', iou_sampling='relabel'))
    assert a[0] == b[0] == list(range(64 + 16))
    torch.testing.assert_close(a[1], b[1])


def test_bad_iou_sampling_mode_is_refused():
    with pytest.raises(ValueError, match='iou_sampling'):
        make_head(iou_sampling='hard')
