"""Unknown Object Masking (FCOS-OWP §3.3, Appendix A / Table 4): which locations the wrapper
ignores, when, and that a head using it trains exactly as without it until ``start_iter``."""
import math
import uuid

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.logging import MessageHub

import mmowp  # noqa: F401  (registration)
from mmowp.models.losses import UnknownObjectMaskedLoss

from ._helpers import STRIDES, head_cfg, instances
from ._helpers import feats as fpn_feats
from ._helpers import metas as image_metas

FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)


@pytest.fixture()
def hub():
    """A fresh current message hub (the loss reads 'iter' from it)."""
    return MessageHub.get_instance(f'uom-{uuid.uuid4().hex}')


def wrapper(**kwargs):
    cfg = dict(type='UnknownObjectMaskedLoss', loss_cls=FOCAL, thr=0.9, start_iter=10)
    cfg.update(kwargs)
    loss = MODELS.build(cfg)
    assert isinstance(loss, UnknownObjectMaskedLoss) and loss.uses_head_context
    return loss


def grid_case():
    """One 4x4 image, stride 8: points at (4 + 8 j, 4 + 8 i); C = 2 classes, bg label 2.

    One GT box (0, 0, 16, 16) covers the four top-left points (label 0 at (4, 4), the other
    three background-labelled but inside the GT box).
    """
    ys, xs = torch.meshgrid(torch.arange(4), torch.arange(4), indexing='ij')
    points = torch.stack([xs.reshape(-1) * 8 + 4, ys.reshape(-1) * 8 + 4], -1).float()
    inside = (points[:, 0] < 16) & (points[:, 1] < 16)
    labels = torch.full((16, ), 2, dtype=torch.long)
    labels[0] = 0
    obj = torch.full((16, ), 0.5)
    # high objectness: inside GT (0, 1, 5), at the positive (0), outside GT (6, 10, 15),
    # exactly at the threshold (3: not strictly above) and just above it (12)
    obj[[0, 1, 5, 6, 10, 15]] = 0.99
    obj[3] = 0.9
    obj[12] = 0.9001
    scores = torch.randn(16, 2, generator=torch.Generator().manual_seed(0))
    return points, inside, labels, obj, scores


def test_pixel_mode_masks_exactly_the_background_above_threshold(hub):
    points, inside, labels, obj, scores = grid_case()
    loss = wrapper(thr=0.9, start_iter=0)
    mask = loss.compute_mask(labels, obj, inside, num_classes=2)
    assert mask.nonzero().reshape(-1).tolist() == [6, 10, 12, 15]
    assert not (mask & inside).any() and not mask[labels < 2].any()


def test_loss_equals_wrapped_loss_with_masked_locations_weighted_zero(hub):
    points, inside, labels, obj, scores = grid_case()
    scores.requires_grad_(True)
    loss = wrapper(thr=0.9, start_iter=0)
    loss.train()
    out = loss(scores, labels, avg_factor=1.0, objectness=obj, inside_gt=inside)
    focal = MODELS.build(FOCAL)
    keep = torch.ones(16)
    keep[[6, 10, 12, 15]] = 0
    expected = focal(scores, labels, weight=keep, avg_factor=1.0)
    assert torch.allclose(out, expected)
    assert not torch.allclose(out, focal(scores, labels, avg_factor=1.0))
    out.backward()
    assert (scores.grad[[6, 10, 12, 15]] == 0).all()
    assert (scores.grad[[0, 1, 5, 3]] != 0).all()
    assert loss.num_masked == 4
    assert hub.get_scalar('train/num_unknown_masked').current() == 4


def test_existing_weights_are_kept(hub):
    points, inside, labels, obj, scores = grid_case()
    loss = wrapper(thr=0.9, start_iter=0)
    weight = torch.linspace(0.1, 1.6, 16)
    out = loss(scores, labels, weight=weight, avg_factor=2.0, objectness=obj, inside_gt=inside)
    keep = torch.ones(16)
    keep[[6, 10, 12, 15]] = 0
    expected = MODELS.build(FOCAL)(scores, labels, weight=weight * keep, avg_factor=2.0)
    assert torch.allclose(out, expected)


def test_nothing_is_masked_before_start_iter(hub):
    points, inside, labels, obj, scores = grid_case()
    loss = wrapper(thr=0.9, start_iter=10)
    loss.train()
    focal = MODELS.build(FOCAL)
    plain = focal(scores, labels, avg_factor=1.0)
    for it, expect_masked in ((0, 0), (9, 0), (10, 4), (11, 4)):
        hub.update_info('iter', it)
        out = loss(scores, labels, avg_factor=1.0, objectness=obj, inside_gt=inside)
        assert loss.num_masked == expect_masked
        assert torch.equal(out, plain) == (expect_masked == 0)
    history = hub.get_scalar('train/num_unknown_masked').data[0].tolist()
    assert history == [0, 0, 4, 4]


def test_area_mode_masks_the_predicted_box_of_each_seed_in_its_own_image(hub):
    points, inside, labels, obj, scores = grid_case()
    # two images with the same locations, concatenated; seeds only in image 0
    points2, labels2 = torch.cat([points, points]), torch.cat([labels, labels])
    inside2 = torch.cat([inside, inside])
    obj_img0 = torch.full((16, ), 0.5)
    obj_img0[10] = 0.99      # seed at (20, 20), outside GT
    obj2 = torch.cat([obj_img0, torch.full((16, ), 0.5)])
    # every location predicts a tiny box around itself, except the seed: (5, 5, 30, 30)
    boxes = torch.cat([points - 1, points + 1], -1)
    boxes[10] = torch.tensor([5., 5., 30., 30.])
    boxes2 = torch.cat([boxes, boxes])
    img_inds = torch.cat([torch.zeros(16, dtype=torch.long), torch.ones(16, dtype=torch.long)])
    loss = wrapper(thr=0.9, start_iter=0, mode='area')
    mask = loss.compute_mask(labels2, obj2, inside2, 2, points2, boxes2, img_inds)
    # points strictly inside (5, 5, 30, 30): x, y in {12, 20, 28} -> grid cols/rows 1..3;
    # (12, 12) = index 5 is inside the GT box and stays unmasked
    expected = {4 * r + c for r in (1, 2, 3) for c in (1, 2, 3)} - {5}
    assert set(mask.nonzero().reshape(-1).tolist()) == expected
    assert not mask[16:].any()
    # pixel mode on the same input masks only the seed
    pixel = wrapper(thr=0.9, start_iter=0, mode='pixel')
    assert pixel.compute_mask(labels2, obj2, inside2, 2).nonzero().reshape(-1).tolist() == [10]


def test_area_mode_chunking_does_not_change_the_mask(hub):
    g = torch.Generator().manual_seed(3)
    n = 300
    points = torch.rand(n, 2, generator=g) * 100
    boxes = torch.cat([points - torch.rand(n, 2, generator=g) * 20,
                       points + torch.rand(n, 2, generator=g) * 20], -1)
    obj = torch.rand(n, generator=g)
    inside = torch.rand(n, generator=g) < 0.2
    labels = torch.where(torch.rand(n, generator=g) < 0.05, 0, 3)
    img_inds = torch.randint(0, 3, (n, ), generator=g)
    masks = [wrapper(thr=0.7, start_iter=0, mode='area', area_chunk=c).compute_mask(
        labels, obj, inside, 3, points, boxes, img_inds) for c in (1, 7, 1000)]
    assert masks[0].any() and torch.equal(masks[0], masks[1]) and torch.equal(masks[0], masks[2])
    # brute force
    seeds = (~inside) & (labels == 3) & (obj > 0.7)
    expected = seeds.clone()
    for s in seeds.nonzero().reshape(-1).tolist():
        b = boxes[s]
        hit = ((points[:, 0] > b[0]) & (points[:, 0] < b[2]) & (points[:, 1] > b[1])
               & (points[:, 1] < b[3]) & (img_inds == img_inds[s]))
        expected |= hit & (~inside) & (labels == 3)
    assert torch.equal(masks[0], expected)


def test_dict_objectness_and_objectness_key(hub):
    points, inside, labels, obj, scores = grid_case()
    cen = torch.full((16, ), 0.99)
    both = dict(centerness=cen, iou=obj)
    with pytest.raises(ValueError, match='objectness_key'):
        wrapper(start_iter=0).compute_mask(labels, both, inside, 2)
    by_iou = wrapper(start_iter=0, objectness_key='iou').compute_mask(labels, both, inside, 2)
    assert by_iou.nonzero().reshape(-1).tolist() == [6, 10, 12, 15]
    geo = wrapper(start_iter=0, objectness_key='sqrt(centerness*iou)').compute_mask(
        labels, both, inside, 2)
    assert torch.equal(geo, (~inside) & (labels == 2) & (torch.sqrt(cen * obj) > 0.9))
    single = wrapper(start_iter=0).compute_mask(labels, dict(iou=obj), inside, 2)
    assert torch.equal(single, by_iou)


def test_bad_inputs_raise_clear_errors(hub):
    points, inside, labels, obj, scores = grid_case()
    loss = wrapper(start_iter=0)
    with pytest.raises(ValueError, match='objectness= and inside_gt='):
        loss(scores, labels, avg_factor=1.0)
    with pytest.raises(ValueError, match='objectness= and inside_gt='):
        wrapper(start_iter=100)(scores, labels, avg_factor=1.0)
    with pytest.raises(ValueError, match='probabilities'):
        loss(scores, labels, objectness=obj * 10 - 5, inside_gt=inside)
    with pytest.raises(ValueError, match='one value per location'):
        loss(scores, labels, objectness=obj[:5], inside_gt=inside)
    with pytest.raises(ValueError, match='img_inds'):
        wrapper(start_iter=0, mode='area').compute_mask(labels, obj, inside, 2, points,
                                                         torch.cat([points, points], -1))
    with pytest.raises(ValueError, match='mode'):
        wrapper(mode='box')
    with pytest.raises(ValueError, match='thr'):
        wrapper(thr=1.5)
    with pytest.raises(ValueError, match='sigmoid'):
        wrapper(loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False))


# ----------------------------------------------------------------- with the OWP FCOS head
IMG = 64


def owp_head(loss_cls, seed=0):
    torch.manual_seed(seed)
    head = MODELS.build(dict(type='OWPFCOSHead', **head_cfg(
        channels=16, stacked_convs=1, num_groups=4, regress_ranges=((-1, 16), (16, 32), (32, 1e8)),
        test_cfg=dict(nms_pre=100, score_thr=0.0, max_per_img=10,
                      nms=dict(type='nms', iou_threshold=0.5)),
        centerness_on_reg=True, center_sampling=True, objectness=('iou', ), iou_sampling_thr=0.3,
        score_mode='cls*iou', loss_cls=loss_cls)))
    with torch.no_grad():
        head.conv_iou.bias.fill_(3.0)       # objectness ~0.95 everywhere
    head.train()
    return head


def head_inputs():
    gts = [instances([[4., 4., 30., 28.]], [1]),
           instances([[20., 30., 60., 62.], [0., 0., 12., 12.]], [0, 2])]
    return (fpn_feats(seed=1, channels=16, img_shape=(IMG, IMG)), gts,
            image_metas(img_shape=(IMG, IMG)))


def masked_cfg(**kwargs):
    cfg = dict(type='UnknownObjectMaskedLoss', use_sigmoid=True, loss_cls=FOCAL, thr=0.9,
               start_iter=5)
    cfg.update(kwargs)
    return cfg


def test_head_with_wrapper_equals_plain_focal_before_start_iter(hub):
    feats, gts, metas = head_inputs()
    plain, masked = owp_head(FOCAL), owp_head(masked_cfg())
    masked.load_state_dict(plain.state_dict())
    hub.update_info('iter', 4)
    a = plain.loss_by_feat(*plain(feats), gts, metas)
    b = masked.loss_by_feat(*masked(feats), gts, metas)
    assert masked.loss_cls.num_masked == 0
    for k in a:
        assert torch.equal(a[k], b[k]), k
    hub.update_info('iter', 5)
    c = masked.loss_by_feat(*masked(feats), gts, metas)
    assert masked.loss_cls.num_masked > 0
    assert c['loss_cls'] < a['loss_cls']
    for k in ('loss_bbox', 'loss_iou'):
        assert torch.equal(a[k], c[k]), k


@pytest.mark.parametrize('mode', ['pixel', 'area'])
def test_head_never_masks_inside_gt_and_masks_every_confident_background(hub, mode):
    feats, gts, metas = head_inputs()
    head = owp_head(masked_cfg(start_iter=0, mode=mode))
    seen = {}
    orig = head.loss_cls.compute_mask

    def spy(labels, objectness, inside_gt, num_classes, points=None, bboxes=None,
            img_inds=None):
        mask = orig(labels, objectness, inside_gt, num_classes, points, bboxes, img_inds)
        seen.update(mask=mask, obj=objectness['iou'], points=points, img_inds=img_inds,
                    labels=labels)
        return mask

    head.loss_cls.compute_mask = spy
    head.loss_by_feat(*head(feats), gts, metas)
    mask, points, img_inds = seen['mask'], seen['points'], seen['img_inds']
    # inside-GT computed here independently from the GT boxes
    inside = torch.zeros_like(mask)
    for i, gt in enumerate(gts):
        for x1, y1, x2, y2 in gt.bboxes.tolist():
            inside |= ((img_inds == i) & (points[:, 0] > x1) & (points[:, 0] < x2)
                       & (points[:, 1] > y1) & (points[:, 1] < y2))
    assert mask.any()
    assert not (mask & inside).any()
    assert not (mask & (seen['labels'] < 3)).any()
    confident_bg = (~inside) & (seen['obj'] > 0.9)
    assert confident_bg.any()
    assert torch.equal(mask & confident_bg, confident_bg)   # every seed is masked
    if mode == 'pixel':
        assert torch.equal(mask, confident_bg)
    # the head's image index follows its flatten order (level, image, location)
    num_per_img = sum(math.ceil(IMG / s) ** 2 for s in STRIDES)
    assert (img_inds == 0).sum() == num_per_img == (img_inds == 1).sum()
