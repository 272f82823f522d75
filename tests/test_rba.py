"""Tests of Rejected-by-All (RbA (Nayal et al., ICCV 2023)): score, loss, outlier pasting,
unknown-detection metric."""
import json
import math
import os.path as osp

import numpy as np
import pytest
import torch
from mmcv.transforms import Compose
from mmdet.registry import TRANSFORMS

import mmowp  # noqa: F401  (registration)
from mmowp.datasets import GeneratorConfig, generate
from mmowp.datasets.transforms import PACK_META_KEYS
from mmowp.evaluation.unknown_detection_metric import UnknownDetectionMetric, outlier_scores
from mmowp.models.dense_heads import OWPFCOSHead, RbAOWPFCOSHead
from mmowp.models.losses.rba_loss import RbALoss
from mmowp.models.utils.rba import rba, rba_affine, rba_rejection
from mmowp.models.utils.scoring import RBA_SCORE_MODES, ScoreMode

from ._helpers import IMG_H, IMG_W, STRIDES, TEST_CFG, instances
from ._helpers import head_cfg as shared_head_cfg
from ._helpers import metas as image_metas


def rba_mode_scores(mode, logits, obj):
    return ScoreMode.parse(mode).agnostic_scores(logits, obj)

C = 16
K = 3


# --------------------------------------------------------------------------- score
def test_rba_score_hand_computed():
    logits = torch.tensor([[-30., -30., -30.],      # rejected by all
                           [30., -30., -30.],       # accepted by one class
                           [0.5, -1.0, 2.0]])
    expected = [3.0, 1.0, -(math.tanh(0.5) + math.tanh(-1.0) + math.tanh(2.0))]
    torch.testing.assert_close(rba(logits), torch.tensor(expected))
    torch.testing.assert_close(rba_affine(logits), (torch.tensor(expected) + 3) / 6)
    rej = [1.0, 0.0, max(0.0, 1 - math.tanh(0.5) - math.tanh(2.0))]
    torch.testing.assert_close(rba_rejection(logits), torch.tensor(rej))
    # one weak vote: rejection = 1 - tanh(0.3)
    torch.testing.assert_close(rba_rejection(torch.tensor([[0.3, -5., -2.]])),
                               torch.tensor([1 - math.tanh(0.3)]))
    obj = dict(iou=torch.tensor([0.5, 0.9, 0.25]), centerness=torch.tensor([1.0, 0.4, 0.64]))
    torch.testing.assert_close(rba_mode_scores('iou*rej', logits, obj),
                               obj['iou'] * rba_rejection(logits))
    torch.testing.assert_close(rba_mode_scores('sqrt(centerness*iou)*rba', logits, obj),
                               torch.sqrt(obj['centerness'] * obj['iou']) * rba_affine(logits))
    with pytest.raises(ValueError, match='keeps the classes'):
        rba_mode_scores('cls*iou', logits, obj)


def test_rba_all_very_negative_is_k():
    logits = torch.full((4, 80), -50.0)
    torch.testing.assert_close(rba(logits), torch.full((4, ), 80.0))


# --------------------------------------------------------------------------- loss
def _eq6_positive(logits, alpha):
    """Oracle in plain Python: Eq. 6 of RbA on votes tanh(max(L_k, 0)), minus its value at a
    fully rejected location, and its derivative w.r.t. each logit."""
    s = sum(math.tanh(max(v, 0.0)) for v in logits)
    value = max(0.0, alpha + s) ** 2 - max(0.0, alpha) ** 2
    grad = [2 * max(0.0, alpha + s) * (1 - math.tanh(v) ** 2) if v > 0 else 0.0
            for v in logits]
    return value, grad


@pytest.mark.parametrize('num_classes', [5, 20, 80, 1203])
def test_rba_loss_confident_outlier_is_penalised(num_classes):
    # one class fires confidently (+5) on an outlier location, every other class rejects (-18)
    # float64: 1 - tanh(5)^2 = 1.8e-4 loses ~3 digits to cancellation in float32
    logits = torch.full((1, num_classes), -18.0, dtype=torch.float64)
    logits[0, 3] = 5.0
    logits.requires_grad_(True)
    loss = RbALoss(alpha=5.0, reduction='sum')(logits)
    (grad, ) = torch.autograd.grad(loss, logits)
    value, expected_grad = _eq6_positive(logits[0].tolist(), 5.0)
    # (5 + tanh 5)^2 - 25 for every K: the other classes' votes are 0
    assert value == pytest.approx((5 + math.tanh(5.0)) ** 2 - 25)
    assert loss.item() == pytest.approx(value, rel=1e-5)
    torch.testing.assert_close(grad[0], torch.tensor(expected_grad, dtype=torch.float64),
                               rtol=1e-9, atol=0)
    # gradient descent lowers the accepting class's logit and leaves the rejecting ones alone
    assert grad[0, 3] > 0
    assert (grad[0, torch.arange(num_classes) != 3] == 0).all()


@pytest.mark.parametrize('num_classes', [5, 20, 80, 1203])
def test_rba_loss_rejected_by_all_is_zero(num_classes):
    g = torch.Generator().manual_seed(num_classes)
    logits = torch.stack([
        torch.zeros(num_classes),                       # on the decision boundary (p = 0.5)
        torch.full((num_classes, ), -18.0),             # confident background
        -3 * torch.rand(num_classes, generator=g),      # weak rejections in (-3, 0]
    ]).requires_grad_(True)
    for alpha in (5.0, 2.0, 0.0, -0.1):
        loss = RbALoss(alpha=alpha, reduction='none')(logits)
        (grad, ) = torch.autograd.grad(loss.sum(), logits)
        assert (loss == 0).all(), (alpha, loss)
        assert (grad == 0).all()


def test_rba_loss_hand_computed():
    # alpha = 2, K = 3: votes S = tanh(1) + tanh(3) (the -1 casts none)
    logits = torch.tensor([[0., 0., 0.], [1., -1., 3.], [-4., 0.5, -0.5]], requires_grad=True)
    s1, s2 = math.tanh(1.) + math.tanh(3.), math.tanh(0.5)
    per = [0.0, (2 + s1) ** 2 - 4, (2 + s2) ** 2 - 4]
    loss = RbALoss(alpha=2.0, reduction='none')(logits)
    torch.testing.assert_close(loss, torch.tensor(per))
    (grad, ) = torch.autograd.grad(loss.sum(), logits)
    d1 = 2 * (2 + s1)
    expected = [[0., 0., 0.],
                [d1 * (1 - math.tanh(1.) ** 2), 0., d1 * (1 - math.tanh(3.) ** 2)],
                [0., 2 * (2 + s2) * (1 - math.tanh(.5) ** 2), 0.]]
    torch.testing.assert_close(grad, torch.tensor(expected))
    for row in range(3):
        value, g = _eq6_positive(logits[row].tolist(), 2.0)
        assert loss[row].item() == pytest.approx(value, abs=1e-6)
        torch.testing.assert_close(grad[row], torch.tensor(g))
    # reductions: 'sum' is Eq. 6; 'mean' divides by avg_factor; loss_weight scales
    torch.testing.assert_close(RbALoss(alpha=2.0, reduction='sum')(logits),
                               torch.tensor(sum(per)))
    mean = RbALoss(alpha=2.0, loss_weight=0.5)
    torch.testing.assert_close(mean(logits, avg_factor=4.0), torch.tensor(0.5 * sum(per) / 4))
    # alpha <= 0 (supplementary Table 6c): Eq. 6 as printed, inactive while S <= -alpha
    neg = RbALoss(alpha=-0.5, reduction='none')(torch.tensor([[0.2, -3.], [1.0, -3.]]))
    torch.testing.assert_close(neg, torch.tensor([0.0, (math.tanh(1.0) - 0.5) ** 2]))
    with pytest.raises(ValueError, match='num_locations, num_classes'):
        RbALoss()(torch.zeros(3))
    with pytest.raises(ValueError, match='votes'):
        RbALoss(votes='clamped')


def test_rba_loss_gradient_equals_eq6_on_non_negative_logits():
    # RbA's own logits are non-negative (Eq. 2); there the loss differs from Eq. 6 as printed
    # only by the constant alpha^2, so its gradient is exactly that of Eq. 6
    g = torch.Generator().manual_seed(0)
    logits = (torch.rand(7, 20, generator=g) * 1.5).requires_grad_(True)
    loss = RbALoss(alpha=5.0, reduction='sum')(logits)
    eq6 = ((5.0 + torch.tanh(logits).sum(-1)).clamp(min=0) ** 2).sum()
    torch.testing.assert_close(loss, eq6 - 7 * 25.0)
    torch.testing.assert_close(torch.autograd.grad(loss, logits)[0],
                               torch.autograd.grad(eq6, logits)[0])


def test_rba_loss_raw_votes_is_the_printed_formula():
    # votes='raw': Eq. 6 on raw logits, kept to measure the difference; with K = 20 it
    # gives no signal on a confidently classified outlier location
    raw = RbALoss(alpha=5.0, votes='raw', reduction='sum')
    logits = torch.full((1, 20), -18.0)
    logits[0, 0] = 5.0
    assert raw(logits).item() == 0.0
    assert RbALoss(alpha=5.0, reduction='sum')(logits).item() > 10
    small = torch.tensor([[1., -1., 3.]])
    expected = (2.0 + math.tanh(1.) + math.tanh(-1.) + math.tanh(3.)) ** 2
    assert RbALoss(alpha=2.0, votes='raw', reduction='sum')(small).item() == pytest.approx(
        expected)


def head_cfg(**kwargs):
    return shared_head_cfg(num_classes=K, channels=C, stacked_convs=1, num_groups=4,
                           test_cfg=dict(TEST_CFG, max_per_img=20), centerness_on_reg=True,
                           objectness=('centerness', 'iou'), **kwargs)


def level_sizes():
    return [(math.ceil(IMG_H / s), math.ceil(IMG_W / s)) for s in STRIDES]


def head_inputs(seed=0, requires_grad=False):
    g = torch.Generator().manual_seed(seed)
    cls = [(torch.randn(2, K, h, w, generator=g) * 2).requires_grad_(requires_grad)
           for h, w in level_sizes()]
    bbox = [torch.rand(2, 4, h, w, generator=g) * 2 + 0.5 for h, w in level_sizes()]
    obj = [torch.randn(2, 2, h, w, generator=g) for h, w in level_sizes()]
    return cls, bbox, obj


def gts():
    return [instances([[4., 6., 40., 50.]], [1]), instances([[10., 12., 30., 28.]], [0])]


def metas(outliers=((), ((50., 20., 90., 60.), ))):
    return [dict(m, outlier_bboxes=np.asarray(o, np.float32).reshape(-1, 4))
            for m, o in zip(image_metas(len(outliers)), outliers)]


def test_head_rba_loss_only_through_outlier_locations():
    # gradient exactly at the outlier locations where some class logit is > 0 (a vote)
    head = RbAOWPFCOSHead(**head_cfg(), loss_rba=dict(type='RbALoss', alpha=5.0))
    cls, bbox, obj = head_inputs(requires_grad=True)
    losses = head.loss_by_feat(cls, bbox, obj, gts(), metas())
    grads = torch.autograd.grad(losses['loss_rba'], cls)
    # expected: locations (x, y) = ((j + .5) s, (i + .5) s) strictly inside the outlier box
    # of image 1; none in image 0
    x1, y1, x2, y2 = 50., 20., 90., 60.
    total, n_in, n_voting = 0.0, 0, 0
    for lvl, s in enumerate(STRIDES):
        h, w = level_sizes()[lvl]
        ys, xs = torch.meshgrid((torch.arange(h) + .5) * s, (torch.arange(w) + .5) * s,
                                indexing='ij')
        inside = (xs > x1) & (xs < x2) & (ys > y1) & (ys < y2)
        assert (grads[lvl][0] == 0).all()
        assert (grads[lvl][1][:, ~inside] == 0).all()
        logits = cls[lvl][1].detach().permute(1, 2, 0)  # (h, w, K)
        torch.testing.assert_close(grads[lvl][1].permute(1, 2, 0)[inside] > 0,
                                   logits[inside] > 0)
        for row in logits[inside].tolist():
            total += _eq6_positive(row, 5.0)[0]
        n_in += int(inside.sum())
        n_voting += int((logits[inside] > 0).any(-1).sum())
    assert n_in > n_voting > 0
    points = head.prior_generator.grid_priors(level_sizes(), device='cpu')
    labels, _ = head.get_targets(points, gts())
    num_pos = max(float((torch.cat(labels) < K).sum()), 1.0)
    assert losses['loss_rba'].item() == pytest.approx(total / num_pos, rel=1e-5)

    # no outlier in the batch: zero loss with a graph; no key at all: clear error
    losses = head.loss_by_feat(cls, bbox, obj, gts(), metas(outliers=((), ())))
    assert losses['loss_rba'].item() == 0 and losses['loss_rba'].requires_grad
    with pytest.raises(KeyError, match='outlier_bboxes'):
        head.loss_by_feat(cls, bbox, obj, gts(), [dict(img_shape=(IMG_H, IMG_W))] * 2)
    with pytest.raises(ValueError, match='train_cls=False'):
        RbAOWPFCOSHead(**head_cfg(), train_cls=False, loss_rba=dict(type='RbALoss'))


@pytest.mark.parametrize('mode', RBA_SCORE_MODES)
def test_head_rba_score_modes(mode):
    head = OWPFCOSHead(**head_cfg(), score_mode=mode).eval()
    assert head.class_agnostic
    cls, bbox, obj = head_inputs()
    results = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas())
    for img_id, res in enumerate(results):
        assert (res.labels == 0).all()
        logits = torch.cat([c[img_id].permute(1, 2, 0).reshape(-1, K) for c in cls])
        probs = {b: torch.cat([o[img_id, k].reshape(-1) for o in obj]).sigmoid()
                 for k, b in enumerate(('centerness', 'iou'))}
        # the best-scoring location always survives NMS
        torch.testing.assert_close(res.scores[0], rba_mode_scores(mode, logits, probs).max())


def test_head_known_and_unknown_in_one_pass():
    thr = 0.3
    head = RbAOWPFCOSHead(**head_cfg(), score_mode='cls*iou', unknown_score_mode='iou*rej',
                       unknown_score_thr=thr).eval()
    cls, bbox, obj = head_inputs()
    logits = cls[0][0].permute(1, 2, 0).reshape(-1, K)
    probs = {b: obj[0][0, k].reshape(-1).sigmoid() for k, b in enumerate(('centerness', 'iou'))}
    scores, factors = head.get_scores(logits, {b: obj[0][0, k].reshape(-1)
                                               for k, b in enumerate(('centerness', 'iou'))})
    assert factors is None and scores.shape == (len(logits), K + 1)
    torch.testing.assert_close(scores[:, :K], logits.sigmoid() * probs['iou'][:, None])
    unknown = probs['iou'] * rba_rejection(logits)
    torch.testing.assert_close(scores[:, K], torch.where(unknown >= thr, unknown,
                                                          torch.zeros(())))
    results = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas())
    labels = torch.cat([r.labels for r in results])
    assert (labels == K).any() and (labels < K).any() and labels.max() == K
    for r in results:
        assert (r.scores[r.labels == K] >= thr).all()
    with pytest.raises(ValueError, match='class-aware'):
        RbAOWPFCOSHead(**head_cfg(), score_mode='iou', unknown_score_mode='iou*rej')
    with pytest.raises(ValueError, match='unknown_score_mode must be one of'):
        RbAOWPFCOSHead(**head_cfg(), score_mode='cls*iou', unknown_score_mode='iou')


def test_head_unknown_maps():
    head = RbAOWPFCOSHead(**head_cfg(), score_mode='cls*iou').eval()
    head.test_cfg['return_unknown_maps'] = 'centerness*rej'
    cls, bbox, obj = head_inputs()
    results = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas())
    for img_id, res in enumerate(results):
        assert res.unknown_strides == STRIDES and res.unknown_offset == 0.5
        for lvl, m in enumerate(res.unknown_maps):
            expected = obj[lvl][img_id, 0].sigmoid() * rba_rejection(
                cls[lvl][img_id].permute(1, 2, 0))
            torch.testing.assert_close(m, expected)


# --------------------------------------------------------------------------- paste
@pytest.fixture(scope='module')
def owd(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('owd'))
    generate(root, GeneratorConfig(num_train=8, num_val=4))
    return root


def paste_cfg(root, **kwargs):
    cfg = dict(type='OutlierPaste', ann_file='annotations/instances_train_all.json',
               data_root=root + '/', exclude_classes='owd_base', p_out=1.0, seed=3,
               max_occlusion=0.3)
    cfg.update(kwargs)
    return cfg


def mmdet_pipeline(cfgs):
    return Compose([TRANSFORMS.build(c) for c in cfgs])


def load_pipeline(root):
    return mmdet_pipeline([dict(type='LoadImageFromFile'),
                           dict(type='LoadAnnotations', with_bbox=True, with_mask=True)])


def train_samples(root):
    coco = json.load(open(osp.join(root, 'annotations', 'instances_train.json')))
    loader = load_pipeline(root)
    for img in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
        instances = [dict(bbox=[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2],
                                a['bbox'][1] + a['bbox'][3]], bbox_label=a['category_id'] - 1,
                          ignore_flag=0, mask=a['segmentation']) for a in anns]
        yield loader(dict(img_path=osp.join(root, img['file_name']), img_id=img['id'],
                          instances=instances))


def test_paste_deterministic_keeps_size_and_annotations(owd):
    a, b = TRANSFORMS.build(paste_cfg(owd)), TRANSFORMS.build(paste_cfg(owd))
    c = TRANSFORMS.build(paste_cfg(owd, seed=4))
    pasted = 0
    differs = False
    for res in train_samples(owd):
        img0 = res['img'].copy()
        boxes0 = res['gt_bboxes'].tensor.clone()
        labels0 = res['gt_bboxes_labels'].copy()
        masks0 = res['gt_masks'].masks.copy()
        ra, rb = a(dict(res)), b(dict(res))
        rc = c(dict(res))
        differs |= not np.array_equal(ra['img'], rc['img'])
        np.testing.assert_array_equal(ra['img'], rb['img'])
        np.testing.assert_array_equal(ra['outlier_bboxes'], rb['outlier_bboxes'])
        # the input is untouched, the image size kept, the annotations unchanged
        np.testing.assert_array_equal(res['img'], img0)
        assert ra['img'].shape == img0.shape
        assert torch.equal(ra['gt_bboxes'].tensor, boxes0)
        np.testing.assert_array_equal(ra['gt_bboxes_labels'], labels0)
        np.testing.assert_array_equal(ra['gt_masks'].masks, masks0)
        ob = ra['outlier_bboxes']
        assert ob.dtype == np.float32 and ob.shape[1] == 4 and len(ob) == len(ra['outlier_cat_ids'])
        changed = (ra['img'] != img0).any(-1)
        if len(ob):
            pasted += 1
            x1, y1, x2, y2 = ob[0].astype(int)
            assert 0 <= x1 < x2 <= img0.shape[1] and 0 <= y1 < y2 <= img0.shape[0]
            outside = changed.copy()
            outside[y1:y2, x1:x2] = False
            assert changed.any() and not outside.any()
            # pasted box covers at most max_occlusion of each original GT box
            g = boxes0.numpy()
            iw = np.clip(np.minimum(g[:, 2], x2) - np.maximum(g[:, 0], x1), 0, None)
            ih = np.clip(np.minimum(g[:, 3], y2) - np.maximum(g[:, 1], y1), 0, None)
            area = (g[:, 2] - g[:, 0]) * (g[:, 3] - g[:, 1])
            assert (iw * ih / area <= 0.3 + 1e-6).all()
            assert ra['outlier_cat_ids'][0] in (6, 7, 8, 9, 10)  # novel category ids
        else:
            assert not changed.any()
    assert pasted >= 4 and differs


def test_paste_probability_and_pool(owd):
    never = TRANSFORMS.build(paste_cfg(owd, p_out=0.0))
    for res in train_samples(owd):
        out = never(dict(res))
        assert out['outlier_bboxes'].shape == (0, 4)
        assert out['img'] is res['img']
    small = TRANSFORMS.build(paste_cfg(owd, pool_size=2))
    assert len(small.pool) == 2
    assert small.pool == TRANSFORMS.build(paste_cfg(owd, pool_size=2)).pool
    with pytest.raises(ValueError, match='disjoint'):
        TRANSFORMS.build(paste_cfg(owd, pool_classes=['circle', 'hexagon']))
    with pytest.raises(FileNotFoundError, match='does not exist'):
        TRANSFORMS.build(paste_cfg(owd, ann_file='annotations/nope.json'))


def test_paste_is_packed_into_metainfo(owd):
    pipeline = mmdet_pipeline([
        dict(type='LoadImageFromFile'),
        dict(type='LoadAnnotations', with_bbox=True),
        dict(type='Resize', scale=(96, 96), keep_ratio=True),
        paste_cfg(owd),
        dict(type='PackDetInputs', meta_keys=PACK_META_KEYS)
    ])
    res = next(iter(train_samples(owd)))
    out = pipeline(dict(img_path=res['img_path'], img_id=res['img_id'],
                        instances=[dict(bbox=b.tolist(), bbox_label=0, ignore_flag=0)
                                   for b in res['gt_bboxes'].tensor]))
    sample = out['data_samples']
    assert 'outlier_bboxes' in sample.metainfo
    assert out['inputs'].shape[-2:] == (96, 96)
    assert len(sample.gt_instances) == len(res['gt_bboxes'])  # not added to the GT


# --------------------------------------------------------------------------- metric
# Oracles written from the definitions, on every (positive, negative) pair and every
# threshold, sharing nothing with the ROC / precision-recall curves the metric computes.
def auroc_bruteforce(labels, scores):
    """P(score of a positive > score of a negative), ties counting 1/2 (Mann-Whitney U)."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def ap_bruteforce(labels, scores):
    """Mean over the positives of the precision of "score >= that positive's score"."""
    precisions = [labels[scores >= s].mean() for s in scores[labels == 1]]
    return sum(precisions) / len(precisions)


def fpr95_bruteforce(labels, scores):
    """Lowest FPR over the thresholds whose TPR is at least 0.95."""
    best = 1.0
    for t in np.unique(scores):
        pred = scores >= t
        tpr = pred[labels == 1].mean()
        if tpr >= 0.95:
            best = min(best, pred[labels == 0].mean())
    return best


def test_outlier_scores_hand_computed():
    # positives 0.9, 0.7; negatives 0.8, 0.1. AUROC: 3 of 4 pairs ordered. AP: precision 1/1
    # at 0.9 and 2/3 at 0.7. FPR95: both positives only at threshold 0.7, where 1 of 2
    # negatives is above it. A tie (0.5, 0.5) counts as half an ordered pair.
    out = outlier_scores(np.array([1, 0, 1, 0]), np.array([0.9, 0.8, 0.7, 0.1]))
    assert out['AUROC'] == pytest.approx(0.75)
    assert out['AP'] == pytest.approx(5 / 6)
    assert out['FPR95'] == pytest.approx(0.5)
    tie = outlier_scores(np.array([1, 0, 1, 0]), np.array([0.5, 0.5, 0.9, 0.1]))
    assert tie['AUROC'] == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert tie['AP'] == pytest.approx((1 + 2 / 3) / 2)  # 0.5 ranks the tied pair together
    assert tie['FPR95'] == pytest.approx(0.5)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_outlier_scores_equal_bruteforce(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + labels, 1)  # ties included
    out = outlier_scores(labels, scores)
    assert out['AUROC'] == pytest.approx(auroc_bruteforce(labels, scores))
    assert out['AP'] == pytest.approx(ap_bruteforce(labels, scores))
    assert out['FPR95'] == pytest.approx(fpr95_bruteforce(labels, scores))
    assert (out['num_pos'], out['num_neg']) == (labels.sum(), (labels == 0).sum())


def test_outlier_scores_no_positive():
    with pytest.warns(UserWarning, match='0 positives'):
        out = outlier_scores(np.zeros(5), np.arange(5.0))
    assert math.isnan(out['AUROC']) and math.isnan(out['AP']) and math.isnan(out['FPR95'])
    with pytest.raises(ValueError, match='0 negatives'):
        outlier_scores(np.ones(5), np.arange(5.0), on_degenerate='raise')


@pytest.fixture()
def tiny_ann(tmp_path):
    ann = dict(images=[dict(id=1, file_name='a.png', width=64, height=32)],
               categories=[dict(id=1, name='circle'), dict(id=2, name='hexagon')],
               annotations=[dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 16, 16],
                                 area=256, iscrowd=0),
                            dict(id=2, image_id=1, category_id=2, bbox=[32, 0, 32, 32],
                                 area=1024, iscrowd=0)])
    path = str(tmp_path / 'ann.json')
    json.dump(ann, open(path, 'w'))
    return path


def test_metric_location_and_box_level(tiny_ann):
    metric = UnknownDetectionMetric(tiny_ann, known_classes=['circle'], box_label='unknown')
    metric.dataset_meta = dict(classes=('circle', ))
    # one level, stride 8, offset .5: columns x = 4, 12, ..., 60; rows y = 4, 12, 20, 28
    rng = np.random.default_rng(0)
    score_map = rng.random((4, 8)).astype(np.float32)
    pred = dict(bboxes=torch.tensor([[33., 0., 64., 31.], [0., 0., 15., 16.], [0., 0., 64., 32.],
                                     [1., 1., 16., 16.]]),
                scores=torch.tensor([0.9, 0.8, 0.7, 0.6]), labels=torch.tensor([1, 1, 1, 0]),
                unknown_maps=[torch.from_numpy(score_map)], unknown_strides=(8, ),
                unknown_offset=0.5)
    sample = dict(img_id=1, scale_factor=(1.0, 1.0), ori_shape=(32, 64), img_shape=(32, 64),
                  pred_instances=pred)
    metric.process({}, [sample])
    res = metric.compute_metrics(metric.results)
    xs = (np.arange(8) + .5) * 8
    ys = (np.arange(4) + .5) * 8
    labels, scores = [], []
    for i, y in enumerate(ys):
        for j, x in enumerate(xs):
            if x < 16 and y < 16:
                labels.append(0)
                scores.append(score_map[i, j])
            elif x >= 32:
                labels.append(1)
                scores.append(score_map[i, j])
    labels, scores = np.array(labels), np.array(scores)
    assert res['location_num_pos'] == 16 and res['location_num_neg'] == 4
    assert res['location_AUROC'] == pytest.approx(auroc_bruteforce(labels, scores))
    assert res['location_AP'] == pytest.approx(ap_bruteforce(labels, scores))
    # boxes of label 1 (= unknown): novel match (0.9), base match (0.8); the big box
    # (IoU .5 with novel, .125 with base) is novel; the label-0 box is not evaluated
    assert (res['box_num_pos'], res['box_num_neg']) == (2, 1)
    assert res['box_AUROC'] == pytest.approx(0.5)  # 0.9 above the negative 0.8, 0.7 below


def test_metric_split_without_positives_is_nan(tiny_ann):
    metric = UnknownDetectionMetric(tiny_ann, known_classes=['circle'], levels=('box', ))
    pred = dict(bboxes=np.array([[0., 0., 16., 16.]]), scores=np.array([0.5]),
                labels=np.array([0]))
    metric.process({}, [dict(img_id=1, pred_instances=pred)])
    with pytest.warns(UserWarning, match='box level: 0 positives'):
        res = metric.compute_metrics(metric.results)
    assert math.isnan(res['box_AUROC']) and res['box_num_neg'] == 1
    strict = UnknownDetectionMetric(tiny_ann, known_classes=['circle'], levels=('location', ),
                                    on_degenerate='raise')
    with pytest.raises(KeyError, match='return_unknown_maps'):
        strict.process({}, [dict(img_id=1, pred_instances=pred)])
    with pytest.raises(ValueError, match='not in'):
        metric.process({}, [dict(img_id=7, pred_instances=pred)])
