"""PointATSSAssigner (ATSS (Zhang et al., CVPR 2020), Algorithm 1 on 8S virtual anchors) and
the assigner mixin.

The assigner hands its virtual anchors to mmdet's ATSSAssigner, so parity with that class
checks the anchors and the plumbing only; the oracle of the selection itself is Algorithm 1
written out below in plain Python (:func:`reference_algorithm1`)."""
import math
import statistics
from pathlib import Path

import pytest
import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.task_modules.assigners import ATSSAssigner
from mmdet.models.task_modules.prior_generators import AnchorGenerator, MlvlPointGenerator
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmowp  # noqa: F401  (registration)
from mmowp.models.dense_heads import ATSSFCOSHead
from mmowp.models.task_modules.assigners import PointATSSAssigner

from ._helpers import feats as fpn_feats
from ._helpers import head_cfg as shared_head_cfg
from ._helpers import instances
from ._helpers import metas as image_metas

STRIDES = [8, 16, 32, 64, 128]


def featmap_sizes(h, w, strides=STRIDES):
    return [(math.ceil(h / s), math.ceil(w / s)) for s in strides]


def point_grid(h, w, strides=STRIDES):
    """Real FPN point priors ``(x, y, stride_w, stride_h)`` (as FCOS makes them)."""
    sizes = featmap_sizes(h, w, strides)
    pts = MlvlPointGenerator(strides).grid_priors(sizes, device='cpu', with_stride=True)
    return torch.cat(pts), [len(p) for p in pts]


def gts(boxes, labels=None):
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return instances(boxes, torch.arange(len(boxes)) % 3 if labels is None else labels)


def assign(boxes, h=128, w=128, strides=STRIDES, **kwargs):
    priors, nums = point_grid(h, w, strides)
    result = PointATSSAssigner(**kwargs).assign(InstanceData(priors=priors), nums, gts(boxes))
    return result, priors, nums


def box_iou(a, b):
    """IoU of two (x1, y1, x2, y2) boxes."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - iw * ih
    return iw * ih / union if union > 0 else 0.0


def reference_algorithm1(priors, nums, gt_boxes, k, octave_base_scale=8.0):
    """ATSS (Zhang et al., CVPR 2020) Algorithm 1, written out loop by loop in plain Python.

    Each location ``(x, y, stride_w, stride_h)`` of ``priors`` is one square anchor of side
    ``octave_base_scale * stride`` centred on it (the paper's "8S" anchor of FCOS). Two details
    the paper leaves open follow mmdet's reference implementation: the standard deviation is
    the sample one (n - 1), and "centre inside g" means at least 0.01 px from every side.
    Distance ties are not handled (the callers use random GT centres).

    Returns:
        tuple[Tensor, Tensor]: per location the GT index + 1 (0: negative) and the IoU with
        that GT (-1 for negatives).
    """
    locs = priors.tolist()
    anchors = [(x - octave_base_scale * sw / 2, y - octave_base_scale * sh / 2,
                x + octave_base_scale * sw / 2, y + octave_base_scale * sh / 2)
               for x, y, sw, sh in locs]
    best, gt_inds = [-1.0] * len(locs), [0] * len(locs)
    for g, box in enumerate(gt_boxes.tolist()):
        gx, gy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        cands, start = [], 0
        for n in nums:  # lines 3-6: the k anchors of each level closest to the centre of g
            level = range(start, start + n)
            cands += sorted(level, key=lambda i: math.hypot(locs[i][0] - gx, locs[i][1] - gy))[:k]
            start += n
        d_g = [box_iou(anchors[c], box) for c in cands]  # line 7
        t_g = statistics.mean(d_g) + statistics.stdev(d_g)  # lines 8-10
        for c, iou in zip(cands, d_g):  # lines 11-15
            cx, cy = locs[c][:2]
            inside = min(cx - box[0], cy - box[1], box[2] - cx, box[3] - cy) > 0.01
            if iou >= t_g and inside and iou > best[c]:  # several GTs: the highest IoU wins
                best[c], gt_inds[c] = iou, g + 1
    return torch.tensor(gt_inds), torch.tensor(best)


def random_boxes(gen, n, h, w):
    ctr = torch.rand(n, 2, generator=gen) * torch.tensor([w, h])
    size = torch.exp(torch.rand(n, 2, generator=gen) * math.log(600 / 4)) * 4
    boxes = torch.cat([ctr - size / 2, ctr + size / 2], dim=1)
    # clipped to the image, with asymmetric margins so that a box spanning the whole image does
    # not have its centre exactly between two grid points (a distance tie, which topk and the
    # reference's argsort may break differently)
    return torch.stack([boxes[:, 0].clamp(0.5, w - 0.3), boxes[:, 1].clamp(0.5, h - 0.3),
                        boxes[:, 2].clamp(0.5, w - 0.3), boxes[:, 3].clamp(0.5, h - 0.3)], dim=1)


@pytest.mark.parametrize('seed', range(4))
def test_parity_with_mmdet_atss_on_fpn_grid(seed):
    h, w = 320, 480
    gen = torch.Generator().manual_seed(seed)
    num_gts = [0, 1, 7, 40][seed]
    gt = gts(random_boxes(gen, num_gts, h, w), torch.randint(0, 80, (num_gts, ), generator=gen))
    priors, nums = point_grid(h, w)
    ours = PointATSSAssigner(topk=9).assign(InstanceData(priors=priors), nums, gt)

    # equivalent anchors built independently, by mmdet's anchor generator (ATSSHead's 8S anchor
    # with the centre offset of FCOS points)
    anchor_gen = AnchorGenerator(STRIDES, ratios=[1.0], octave_base_scale=8,
                                 scales_per_octave=1, center_offset=0.5)
    anchors = torch.cat(anchor_gen.grid_priors(featmap_sizes(h, w), device='cpu'))
    torch.testing.assert_close(PointATSSAssigner().virtual_anchors(priors, nums), anchors)
    ref = ATSSAssigner(topk=9).assign(InstanceData(priors=anchors), nums, gt)

    assert torch.equal(ours.gt_inds, ref.gt_inds)
    assert torch.equal(ours.labels, ref.labels)
    assert ours.num_gts == num_gts
    if num_gts:
        assert (ours.gt_inds > 0).any()
        assert torch.equal(ours.gt_inds, reference_algorithm1(priors, nums, gt.bboxes, 9)[0])


@pytest.mark.parametrize('seed,topk,octave_base_scale', [
    (0, 9, 8.0), (1, 9, 8.0), (2, 9, 8.0), (3, 3, 8.0), (4, 15, 8.0), (5, 9, 4.0)])
def test_equals_hand_written_algorithm1(seed, topk, octave_base_scale):
    """Every location's GT, IoU and label against Algorithm 1 written out in plain Python, on
    FPN grids of random image sizes with random GTs of all scales."""
    gen = torch.Generator().manual_seed(100 + seed)
    h, w = torch.randint(96, 520, (2, ), generator=gen).tolist()
    num_gts = int(torch.randint(1, 30, (1, ), generator=gen))
    gt = gts(random_boxes(gen, num_gts, h, w))
    priors, nums = point_grid(h, w)
    result = PointATSSAssigner(topk=topk, octave_base_scale=octave_base_scale).assign(
        InstanceData(priors=priors), nums, gt)
    gt_inds, ious = reference_algorithm1(priors, nums, gt.bboxes, topk, octave_base_scale)
    pos = gt_inds > 0
    assert pos.sum() >= 3
    assert torch.equal(result.gt_inds, gt_inds)
    torch.testing.assert_close(result.max_overlaps[pos], ious[pos].float())
    assert torch.equal(result.labels[pos], gt.labels[gt_inds[pos] - 1])
    assert (result.labels[~pos] == -1).all()


def test_plain_points_with_configured_strides_match_points_with_strides():
    boxes = [[10.3, 20.1, 70.7, 90.2], [60.2, 5.5, 120.9, 50.3]]
    r4, priors, nums = assign(boxes)
    r2 = PointATSSAssigner(strides=STRIDES).assign(
        InstanceData(priors=priors[:, :2]), nums, gts(boxes))
    assert torch.equal(r2.gt_inds, r4.gt_inds)
    with pytest.raises(ValueError, match='strides'):
        PointATSSAssigner().assign(InstanceData(priors=priors[:, :2]), nums, gts(boxes))


def test_no_gt_all_negative():
    result, priors, _ = assign(torch.zeros(0, 4))
    assert result.num_gts == 0
    assert (result.gt_inds == 0).all() and (result.labels == -1).all()
    assert len(result.gt_inds) == len(priors)


def test_gt_smaller_than_every_anchor():
    # 4x4 box around the P3 location (44, 44): IoU with its 64x64 anchor is 16/4096, yet the
    # threshold is relative, so exactly that location is positive.
    result, priors, _ = assign([[42., 42., 46., 46.]])
    pos = (result.gt_inds == 1).nonzero().flatten()
    assert len(pos) == 1
    assert priors[pos[0]].tolist() == [44., 44., 8., 8.]
    assert result.max_overlaps[pos[0]] == pytest.approx(16 / 4096)
    # the same box between grid points contains no location centre: no positive, no NaN
    result, _, _ = assign([[45., 45., 49., 49.]])
    assert (result.gt_inds == 0).all()
    assert not torch.isnan(result.max_overlaps).any()


def test_gt_larger_than_the_largest_anchor_goes_to_the_coarsest_level():
    # 1200x1200 box, larger than the 1024x1024 anchors of P7 (stride 128)
    result, priors, _ = assign([[40., 40., 1240., 1240.]], h=1280, w=1280)
    pos = result.gt_inds == 1
    assert pos.any()
    assert (priors[pos, 2] == 128).all()


def test_overlapping_gts_compete_by_iou():
    a, b = [20., 20., 84., 84.], [28., 28., 92., 92.]  # 64x64 boxes, centres (52,52),(60,60)
    ra, priors, nums = assign([a])
    rb, _, _ = assign([b])
    rab, _, _ = assign([a, b])
    pos_a, pos_b = ra.gt_inds > 0, rb.gt_inds > 0
    both = pos_a & pos_b
    assert both.sum() >= 2  # the two GTs really compete
    assert torch.equal(rab.gt_inds > 0, pos_a | pos_b)
    assert (rab.gt_inds[pos_a & ~pos_b] == 1).all()
    assert (rab.gt_inds[pos_b & ~pos_a] == 2).all()
    anchors = PointATSSAssigner().virtual_anchors(priors, nums)
    ious = bbox_overlaps(anchors[both], torch.tensor([a, b]))
    assert torch.equal(rab.gt_inds[both], ious.argmax(1) + 1)
    # the location at the centre of each box (IoU 1 with its own GT) goes to that GT
    at = {tuple(p[:3].tolist()): i for i, p in enumerate(priors)}
    assert rab.gt_inds[at[(52., 52., 8.)]] == 1
    assert rab.gt_inds[at[(60., 60., 8.)]] == 2


def test_gt_outside_the_image_gets_nothing():
    result, _, _ = assign([[200., 210., 240., 260.], [10., 12., 50., 60.]])
    assert not (result.gt_inds == 1).any()
    assert (result.gt_inds == 2).any()
    assert not torch.isnan(result.max_overlaps).any()


def test_degenerate_and_invalid_gts():
    result, _, _ = assign([[30., 30., 30., 70.]])  # zero width
    assert (result.gt_inds == 0).all()
    with pytest.raises(ValueError, match='x2 >= x1'):
        assign([[50., 30., 40., 70.]])


def test_topk_larger_than_locations_on_a_level():
    # 128x128: P6 has 2x2 locations and P7 one; with 1S anchors the P7 anchor is the image
    result, priors, nums = assign([[0., 0., 128., 128.]], octave_base_scale=1)
    assert nums[-2:] == [4, 1]
    p7 = len(priors) - 1
    assert result.gt_inds[p7] == 1
    assert result.max_overlaps[p7] == pytest.approx(1.0)
    # topk above every level's size: all locations are candidates, no crash, still the P7 one
    big, _, _ = assign([[0., 0., 128., 128.]], octave_base_scale=1, topk=1000)
    assert big.gt_inds[p7] == 1
    gt_box = torch.tensor([[0.3, 0.7, 127.1, 126.6]])
    for k in (9, 1000):
        r = PointATSSAssigner(topk=k, octave_base_scale=1).assign(
            InstanceData(priors=priors), nums, gts(gt_box))
        assert torch.equal(r.gt_inds, reference_algorithm1(priors, nums, gt_box, k, 1.0)[0])


def test_single_candidate_is_an_error():
    priors, nums = point_grid(8, 8, strides=[8])
    assert nums == [1]
    with pytest.raises(ValueError, match='fewer than 2 candidates'):
        PointATSSAssigner(topk=9).assign(InstanceData(priors=priors), nums, gts([[0, 0, 8, 8]]))
    with pytest.raises(ValueError, match='topk'):
        PointATSSAssigner(topk=0)


def test_registered_in_task_utils():
    assigner = TASK_UTILS.build(dict(type='PointATSSAssigner', topk=5, octave_base_scale=6))
    assert isinstance(assigner, PointATSSAssigner)
    assert assigner.topk == 5 and assigner.atss.topk == 5


# ---------------------------------------------------------------- head with the mixin
def head_cfg(**kwargs):
    return shared_head_cfg(channels=8, stacked_convs=1, strides=STRIDES, num_groups=4,
                           regress_ranges=None, test_cfg=None, **kwargs)


def batch(h=128, w=128):
    gt_list = [gts([[10.3, 20.1, 70.7, 90.2], [60.2, 5.5, 120.9, 50.3], [70., 60., 90., 100.]],
                   [0, 1, 2]),
               gts(torch.zeros(0, 4), torch.zeros(0))]
    return (fpn_feats(channels=8, img_shape=(h, w), strides=STRIDES), gt_list,
            image_metas(img_shape=(h, w)))


@pytest.mark.parametrize('center_sampling', [False, True])
def test_mixin_without_assigner_is_fcos(center_sampling):
    torch.manual_seed(0)
    ours = ATSSFCOSHead(**head_cfg(center_sampling=center_sampling, norm_on_bbox=True))
    stock = FCOSHead(**head_cfg(center_sampling=center_sampling, norm_on_bbox=True))
    assert ours.assigner is None
    feats, gt_list, _ = batch()
    points = ours.prior_generator.grid_priors([f.shape[-2:] for f in feats], device='cpu')
    for a, b in zip(ours.get_targets(points, gt_list), stock.get_targets(points, gt_list)):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


@pytest.mark.parametrize('norm_on_bbox', [False, True])
def test_mixin_atss_targets(norm_on_bbox):
    head = ATSSFCOSHead(**head_cfg(norm_on_bbox=norm_on_bbox,
                                   train_cfg=dict(assigner=dict(type='PointATSSAssigner'))))
    assert isinstance(head.assigner, PointATSSAssigner)
    feats, gt_list, _ = batch()
    sizes = [f.shape[-2:] for f in feats]
    points = head.prior_generator.grid_priors(sizes, device='cpu')
    labels, targets = head.get_targets(points, gt_list)
    nums = [len(p) for p in points]
    labels_img0 = torch.cat([lvl[:n] for lvl, n in zip(labels, nums)])
    targets_img0 = torch.cat([lvl[:n] * (s if norm_on_bbox else 1)
                              for lvl, n, s in zip(targets, nums, STRIDES)])
    priors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu', with_stride=True))
    expected = PointATSSAssigner().assign(InstanceData(priors=priors), nums, gt_list[0])
    pos = expected.gt_inds > 0
    assert pos.any()
    assert torch.equal(labels_img0 != 3, pos)
    assert torch.equal(labels_img0[pos], gt_list[0].labels[expected.gt_inds[pos] - 1])
    box = gt_list[0].bboxes[expected.gt_inds[pos] - 1]
    xy = priors[pos, :2]
    manual = torch.cat([xy - box[:, :2], box[:, 2:] - xy], 1)
    torch.testing.assert_close(targets_img0[pos], manual)
    assert (targets_img0[pos] > 0).all() and (targets_img0[~pos] == 0).all()
    # the image without GT: everything background
    assert all((lvl[n:] == 3).all() for lvl, n in zip(labels, nums))


def test_mixin_atss_ignores_regress_ranges():
    cfg = head_cfg(train_cfg=dict(assigner=dict(type='PointATSSAssigner')))
    wide = ATSSFCOSHead(**cfg)
    narrow = ATSSFCOSHead(**cfg, regress_ranges=((-1, 1), (1, 2), (2, 3), (3, 4), (4, 5)))
    feats, gt_list, _ = batch()
    points = wide.prior_generator.grid_priors([f.shape[-2:] for f in feats], device='cpu')
    for a, b in zip(wide.get_targets(points, gt_list), narrow.get_targets(points, gt_list)):
        for x, y in zip(a, b):
            assert torch.equal(x, y)


def test_mixin_atss_trains():
    torch.manual_seed(0)
    head = MODELS.build(dict(type='ATSSFCOSHead', **head_cfg(
        norm_on_bbox=True, centerness_on_reg=True, loss_bbox=dict(type='GIoULoss'),
        train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9)))))
    feats, gt_list, metas = batch()
    feats = [f.requires_grad_() for f in feats]
    losses = head.loss_by_feat(*head(feats), gt_list, metas)
    total = sum(losses.values())
    assert all(torch.isfinite(v) for v in losses.values())
    assert losses['loss_bbox'] > 0 and losses['loss_centerness'] > 0
    total.backward()
    for name in ('conv_cls', 'conv_reg', 'conv_centerness'):
        grad = getattr(head, name).weight.grad
        assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0
    assert all(f.grad is not None for f in feats)
    # a batch without any GT trains without NaN
    head.zero_grad()
    empty = [gts(torch.zeros(0, 4), torch.zeros(0))] * 2
    losses = head.loss_by_feat(*head([f.detach() for f in feats]), empty, metas)
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()


def test_owp_head_uses_the_assigner_with_iou_sampling():
    """IOU-ATSS-IS: OWPFCOSHead takes ATSS positives; IoU Sampling still applies; it trains."""
    torch.manual_seed(0)
    atss = dict(assigner=dict(type='PointATSSAssigner', topk=9))
    owp = MODELS.build(dict(type='OWPFCOSHead', **head_cfg(
        objectness=('iou', ), iou_sampling_thr=0.3, score_mode='iou', train_cls=False,
        centerness_on_reg=True, norm_on_bbox=True, train_cfg=atss)))
    plain = ATSSFCOSHead(**head_cfg(norm_on_bbox=True, train_cfg=atss))
    assert isinstance(owp.assigner, PointATSSAssigner)
    feats, gt_list, metas = batch()
    points = owp.prior_generator.grid_priors([f.shape[-2:] for f in feats], device='cpu')
    for a, b in zip(owp.get_targets(points, gt_list), plain.get_targets(points, gt_list)):
        for x, y in zip(a, b):
            assert torch.equal(x, y)
    losses = owp.loss_by_feat(*owp(feats), gt_list, metas)
    assert set(losses) == {'loss_bbox', 'loss_iou'}
    assert all(torch.isfinite(v) for v in losses.values())
    sum(losses.values()).backward()
    assert owp.conv_reg.weight.grad.abs().sum() > 0


def test_mixin_rejects_center_sampling_with_assigner():
    with pytest.raises(ValueError, match='center_sampling'):
        ATSSFCOSHead(**head_cfg(center_sampling=True,
                                train_cfg=dict(assigner=dict(type='PointATSSAssigner'))))


# ---------------------------------------------------------------- configs
ATSS_CONFIGS = sorted(Path(__file__).parents[1].glob('configs/atss/*.py'))
TOY_CONFIGS = {
    'fcos-imprv_r18_fpn_1500it_owd-shapes.py': (None, False),
    'fcos-imprv-center_r18_fpn_1500it_owd-shapes.py': (None, True),
    'fcos-imprv-atss_r18_fpn_1500it_owd-shapes.py': (9, False),
    'owp-fcos-iou-atss-is_r18_fpn_1500it_owd-shapes.py': (9, False),
}


def expected_topk(path):
    name = path.name
    if 'atss-k' in name:
        return int(name.split('atss-k')[1].split('_')[0])
    return 9 if 'atss' in name else None


@pytest.mark.parametrize('path', ATSS_CONFIGS, ids=lambda p: p.name)
def test_paper_configs_load(path):
    cfg = Config.fromfile(str(path))
    head = cfg.model.bbox_head
    assigner = (cfg.model.get('train_cfg') or {}).get('assigner')
    topk = expected_topk(path)
    assert head.type in ('ATSSFCOSHead', 'OWPFCOSHead')
    assert cfg.train_cfg.max_iters == 90000
    if topk is None:
        assert assigner is None
        assert head.center_sampling == ('center' in path.name)
    else:
        assert assigner.type == 'PointATSSAssigner' and assigner.topk == topk
        assert assigner.octave_base_scale == 8 and not head.center_sampling
    if head.type == 'ATSSFCOSHead':
        assert head.num_classes == 80 and head.norm_on_bbox and head.centerness_on_reg


@pytest.mark.parametrize('name', sorted(TOY_CONFIGS))
def test_toy_configs_build(name):
    path = Path(__file__).parents[1] / 'configs' / 'toy' / name
    cfg = Config.fromfile(str(path))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    topk, center_sampling = TOY_CONFIGS[name]
    assert model.bbox_head.center_sampling == center_sampling
    if topk is None:
        assert model.bbox_head.assigner is None
    else:
        assert isinstance(model.bbox_head.assigner, PointATSSAssigner)
        assert model.bbox_head.assigner.topk == topk
