"""Policy-gradient loss of the policy-gradient detector (Rao et al., CVPR 2018), Eq. 9-11,
its per-image COCO AP and the PG heads."""
import contextlib
import io

import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.structures import InstanceData
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import mmowp  # noqa: F401
from mmowp.models.losses import PolicyGradientLoss, pg_surrogate_loss
from mmowp.models.utils import batched_image_ap, image_ap

from ._helpers import feats as fpn_feats
from ._helpers import head_cfg, instances
from ._helpers import metas as image_metas

NUM_CLASSES = 4


# ----------------------------------------------------------------- helpers
def coco_image_ap(det, scores, det_labels, gt, gt_labels, max_dets=100):
    """AP@[.5:.95] of one image by pycocotools' COCOeval."""
    def xywh(b):
        return [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]

    dataset = dict(
        images=[dict(id=1, width=300, height=300)],
        categories=[dict(id=c + 1) for c in range(NUM_CLASSES + 1)],
        annotations=[
            dict(id=i + 1, image_id=1, category_id=int(lab) + 1, bbox=xywh(b), iscrowd=0,
                 area=float((b[2] - b[0]) * (b[3] - b[1])))
            for i, (b, lab) in enumerate(zip(gt, gt_labels))
        ])
    with contextlib.redirect_stdout(io.StringIO()):
        coco = COCO()
        coco.dataset = dataset
        coco.createIndex()
        res = coco.loadRes([
            dict(image_id=1, category_id=int(lab) + 1, bbox=xywh(b), score=float(s))
            for b, s, lab in zip(det, scores, det_labels)
        ])
        ev = COCOeval(coco, res, 'bbox')
        ev.params.maxDets = [max_dets]  # evaluate() sorts it; index -1 is max_dets
        ev.evaluate()
        ev.accumulate()
    prec = ev.eval['precision'][:, :, :, 0, -1]
    return float(prec[prec > -1].mean())


def random_case(gen, num_gt, num_det, num_cls=NUM_CLASSES, dtype=torch.float64):
    xy = torch.rand(num_gt, 2, generator=gen, dtype=dtype) * 200
    wh = torch.rand(num_gt, 2, generator=gen, dtype=dtype) * 60 + 4
    gt = torch.cat([xy, xy + wh], 1)
    gt_labels = torch.randint(0, num_cls, (num_gt, ), generator=gen)
    src = torch.randint(0, num_gt, (num_det, ), generator=gen)
    det = gt[src] + torch.randn(num_det, 4, generator=gen, dtype=dtype) * 5
    det[:, 2:] = torch.maximum(det[:, 2:], det[:, :2] + 1)
    wrong = torch.rand(num_det, generator=gen) < 0.2
    det_labels = torch.where(wrong, torch.randint(0, num_cls + 1, (num_det, ), generator=gen),
                             gt_labels[src])
    scores = torch.rand(num_det, generator=gen, dtype=dtype)
    return det, scores, det_labels, gt, gt_labels


def candidate_batch(gen, num_imgs=2, locs_per_img=60, num_gt=3):
    """Flattened locations of ``num_imgs`` images: boxes jittered around GT boxes."""
    logits, bboxes, labels, img_inds, gts = [], [], [], [], []
    for i in range(num_imgs):
        det, _, det_labels, gt, gt_labels = random_case(gen, num_gt, locs_per_img,
                                                        dtype=torch.float32)
        pos = torch.rand(locs_per_img, generator=gen) < 0.4
        labels.append(torch.where(pos, det_labels.clamp(max=NUM_CLASSES - 1),
                                  torch.full_like(det_labels, NUM_CLASSES)))
        logits.append(torch.randn(locs_per_img, NUM_CLASSES, generator=gen) * 2)
        bboxes.append(det)
        img_inds.append(torch.full((locs_per_img, ), i, dtype=torch.long))
        gts.append(InstanceData(bboxes=gt, labels=gt_labels))
    return (torch.cat(logits).requires_grad_(), torch.cat(bboxes), torch.cat(labels),
            torch.cat(img_inds), gts)


# ------------------------------------------------------------ Eq. 11
def test_surrogate_gradient_equals_eq11_hand_built():
    # x = 0 -> p = 0.5; x = ln 3 -> p = 0.75
    x = torch.tensor([0.0, 0.0, 3.0, torch.log(torch.tensor(3.0)).item()], requires_grad=True)
    targets = torch.tensor([1.0, 0.0, 1.0, 0.0])
    adv = torch.tensor([0.2, -0.3, 0.0, 0.5])  # r(b) - r'
    gamma = 1.0
    pg_surrogate_loss(x, targets, adv, gamma).sum().backward()
    p = x.detach().sigmoid()
    # Eq. 11 for positives: ((r(b) - r') + gamma) (p_b - 1)
    assert x.grad[0].item() == pytest.approx((0.2 + 1.0) * (0.5 - 1), abs=1e-7)  # -0.6
    assert x.grad[2].item() == pytest.approx((0.0 + 1.0) * (p[2].item() - 1), abs=1e-7)
    # background: policy term A (p - 1) + cross-entropy to background gamma p
    assert x.grad[1].item() == pytest.approx(-0.3 * (0.5 - 1) + 1.0 * 0.5, abs=1e-7)  # 0.65
    assert x.grad[3].item() == pytest.approx(0.5 * (0.75 - 1) + 0.75, abs=1e-6)  # 0.625


@pytest.mark.parametrize('gamma', [0.0, 1.0, 0.5])
def test_surrogate_gradient_matches_formula_random(gamma):
    gen = torch.Generator().manual_seed(3)
    x = (torch.randn(50, generator=gen) * 3).requires_grad_()
    targets = (torch.rand(50, generator=gen) < 0.5).float()
    adv = torch.rand(50, generator=gen) * 2 - 1
    pg_surrogate_loss(x, targets, adv, gamma).sum().backward()
    p = x.detach().sigmoid()
    expected = torch.where(targets > 0, (adv + gamma) * (p - 1), adv * (p - 1) + gamma * p)
    torch.testing.assert_close(x.grad, expected, rtol=1e-5, atol=1e-6)


def test_loss_gradient_equals_eq11_end_to_end():
    """The logits' gradient through the full loss is Eq. 11 / (number of candidates), on the
    candidates' class only, with the advantages the loss estimated."""
    gen = torch.Generator().manual_seed(0)
    logits, bboxes, labels, img_inds, gts = candidate_batch(gen)
    loss_fn = PolicyGradientLoss(num_samples=10, gamma=1.0, num_candidates=25)
    loss, _ = loss_fn(logits, bboxes, labels, img_inds, gts)
    loss.backward()

    loss_fn.reset_generator()  # replay the same draws
    expected = torch.zeros_like(logits)
    x = logits.detach()
    positive = labels < NUM_CLASSES
    classes = torch.where(positive, labels, x.argmax(1))
    probs = x.gather(1, classes[:, None]).squeeze(1).sigmoid()
    total = 0
    any_nonzero_adv = False
    for i, gt in enumerate(gts):
        inds = (img_inds == i).nonzero().reshape(-1)
        cand = inds[probs[inds].topk(25)[1]]
        out = loss_fn.image_advantages(probs[cand], probs[cand], classes[cand], bboxes[cand],
                                       gt.bboxes, gt.labels)
        adv = out['advantage'].float()
        any_nonzero_adv |= bool((adv != 0).any())
        p = probs[cand]
        grad = torch.where(positive[cand], (adv + 1.0) * (p - 1), adv * (p - 1) + 1.0 * p)
        expected[cand, classes[cand]] = grad
        total += len(cand)
    assert any_nonzero_adv, 'degenerate case: every advantage is zero'
    torch.testing.assert_close(logits.grad, expected / total, rtol=1e-5, atol=1e-7)


def test_rewards_equal_baseline_reduce_to_cross_entropy_times_gamma():
    """Non-overlapping candidates: NMS keeps all, rewards are zeroed (r(b) = r'), and the
    gradient is gamma times the cross-entropy's."""
    boxes = torch.tensor([[0, 0, 10, 10], [20, 20, 40, 40], [50, 0, 70, 30], [0, 50, 30, 80],
                          [80, 80, 90, 95]], dtype=torch.float32)
    labels = torch.tensor([0, 1, NUM_CLASSES, 2, NUM_CLASSES])
    gts = [InstanceData(bboxes=boxes[[0, 1, 3]] + 1, labels=torch.tensor([0, 1, 2]))]
    gen = torch.Generator().manual_seed(1)
    base = torch.randn(5, NUM_CLASSES, generator=gen)
    img_inds = torch.zeros(5, dtype=torch.long)
    for gamma in (1.0, 0.5):
        logits = base.clone().requires_grad_()
        loss, log_vars = PolicyGradientLoss(gamma=gamma)(logits, boxes, labels, img_inds, gts)
        loss.backward()
        assert log_vars['pg_pos_adv_frac'] == 0
        assert log_vars['pg_mean_reward'] == pytest.approx(float(log_vars['pg_baseline_ap']))
        ref = base.clone().requires_grad_()
        classes = torch.where(labels < NUM_CLASSES, labels, base.argmax(1))
        x = ref.gather(1, classes[:, None]).squeeze(1)
        ce = F.binary_cross_entropy_with_logits(x, (labels < NUM_CLASSES).float())
        (gamma * ce).backward()
        torch.testing.assert_close(logits.grad, ref.grad)


# ------------------------------------------------------- per-image AP
@pytest.mark.parametrize('seed', range(40))
def test_image_ap_equals_pycocotools(seed):
    gen = torch.Generator().manual_seed(seed)
    num_gt = int(torch.randint(1, 12, (1, ), generator=gen))
    num_det = int(torch.randint(0, 60, (1, ), generator=gen))
    det, scores, det_labels, gt, gt_labels = random_case(gen, num_gt, max(num_det, 1))
    det, scores, det_labels = det[:num_det], scores[:num_det], det_labels[:num_det]
    max_dets = 100 if seed % 4 else 5  # also the per-category maxDets cut
    ours = image_ap(det, scores, det_labels, gt, gt_labels, max_dets=max_dets)
    if num_det == 0:
        assert ours == 0.0
        return
    assert ours == pytest.approx(coco_image_ap(det, scores, det_labels, gt, gt_labels,
                                               max_dets=max_dets), abs=1e-6)


def test_image_ap_duplicate_gt_and_perfect_detection():
    gt = torch.tensor([[10., 10., 50., 50.], [10., 10., 50., 50.], [60., 60., 90., 80.]])
    gt_labels = torch.tensor([0, 0, 1])
    det = torch.tensor([[10., 10., 50., 50.], [12., 10., 50., 52.], [60., 60., 90., 80.],
                        [0., 0., 5., 5.]])
    scores = torch.tensor([0.9, 0.8, 0.7, 0.95])
    det_labels = torch.tensor([0, 0, 1, 1])
    ours = image_ap(det.double(), scores.double(), det_labels, gt.double(), gt_labels)
    assert ours == pytest.approx(coco_image_ap(det, scores, det_labels, gt, gt_labels),
                                 abs=1e-6)
    assert image_ap(gt, torch.ones(3), gt_labels, gt, gt_labels) == pytest.approx(1.0)


def test_batched_image_ap_equals_single_sets_and_no_gt():
    gen = torch.Generator().manual_seed(7)
    det, scores, det_labels, gt, gt_labels = random_case(gen, 6, 30)
    keep = torch.rand(3, 30, generator=gen) < 0.6
    batched = batched_image_ap(det.expand(3, -1, -1), scores.expand(3, -1),
                               det_labels.expand(3, -1), gt, gt_labels, det_valid=keep)
    for s in range(3):
        single = image_ap(det[keep[s]], scores[keep[s]], det_labels[keep[s]], gt, gt_labels)
        assert float(batched[s]) == pytest.approx(single, abs=1e-12)
    assert image_ap(det, scores, det_labels, gt[:0], gt_labels[:0]) == -1.0


# ----------------------------------------------------------- sampling
def test_sampling_is_seeded_and_reproducible():
    gen = torch.Generator().manual_seed(0)
    logits, bboxes, labels, img_inds, gts = candidate_batch(gen)
    probs = logits.detach()[:, 0].sigmoid()

    def run(loss_fn):
        lg = logits.detach().clone().requires_grad_()
        loss, log_vars = loss_fn(lg, bboxes, labels, img_inds, gts)
        loss.backward()
        return loss.detach(), lg.grad, log_vars

    torch.manual_seed(123)
    global_before = torch.rand(3)
    a, b = PolicyGradientLoss(seed=5), PolicyGradientLoss(seed=5)
    torch.manual_seed(123)
    ra, rb = run(a), run(b)
    assert torch.equal(torch.rand(3), global_before)  # the global RNG is not consumed
    assert torch.equal(ra[0], rb[0]) and torch.equal(ra[1], rb[1])
    assert torch.equal(a.sample_actions(probs), b.sample_actions(probs))
    # a new call draws new sets; reset_generator replays them
    a.reset_generator()
    first = a.sample_actions(probs)
    second = a.sample_actions(probs)
    assert not torch.equal(first, second)
    a.reset_generator()
    assert torch.equal(a.sample_actions(probs), first)
    assert not torch.equal(PolicyGradientLoss(seed=6).sample_actions(probs), first)
    # draws follow p_b: frequencies over many draws
    many = PolicyGradientLoss(num_samples=4000).sample_actions(probs).float().mean(0)
    torch.testing.assert_close(many, probs, atol=0.04, rtol=0)


# ----------------------------------------------------- degenerate input
def test_no_gt_or_no_candidates_gives_zero_loss():
    gen = torch.Generator().manual_seed(0)
    logits, bboxes, labels, img_inds, gts = candidate_batch(gen, num_imgs=1)
    empty_gt = [InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    loss_fn = PolicyGradientLoss()
    loss, log_vars = loss_fn(logits, bboxes, torch.full_like(labels, NUM_CLASSES), img_inds,
                             empty_gt)
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(loss)
    assert torch.equal(logits.grad, torch.zeros_like(logits))
    assert all(torch.isfinite(v) for v in log_vars.values())
    # no locations at all (no candidates)
    empty_logits = torch.zeros(0, NUM_CLASSES, requires_grad=True)
    loss, _ = loss_fn(empty_logits, torch.zeros(0, 4), torch.zeros(0, dtype=torch.long),
                      torch.zeros(0, dtype=torch.long), gts)
    loss.backward()
    assert loss.item() == 0 and torch.isfinite(loss)
    # one image with GT, one without: only the first contributes
    logits2, bboxes2, labels2, img_inds2, gts2 = candidate_batch(gen, num_imgs=2)
    loss_fn.reset_generator()
    loss_a, _ = loss_fn(logits2, bboxes2, labels2, img_inds2, [gts2[0], empty_gt[0]])
    loss_fn.reset_generator()
    keep = img_inds2 == 0
    loss_b, _ = loss_fn(logits2[keep], bboxes2[keep], labels2[keep], img_inds2[keep],
                        [gts2[0]])
    torch.testing.assert_close(loss_a, loss_b)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match='num_samples'):
        PolicyGradientLoss(num_samples=0)
    with pytest.raises(ValueError, match='reward_estimator'):
        PolicyGradientLoss(reward_estimator='max')
    with pytest.raises(ValueError, match='same length'):
        PolicyGradientLoss()(torch.zeros(3, 2), torch.zeros(2, 4), torch.zeros(3).long(),
                             torch.zeros(3).long(), [])


def test_expectation_estimator_is_conditional_times_draw_frequency():
    gen = torch.Generator().manual_seed(2)
    det, _, det_labels, gt, gt_labels = random_case(gen, 4, 40, dtype=torch.float32)
    probs = torch.rand(40, generator=gen)
    cond = PolicyGradientLoss(reward_estimator='conditional')
    expe = PolicyGradientLoss(reward_estimator='expectation')
    oc = cond.image_advantages(probs, probs, det_labels, det, gt, gt_labels)
    oe = expe.image_advantages(probs, probs, det_labels, det, gt, gt_labels)
    assert torch.equal(oc['drawn'], oe['drawn'])  # same seed, same draws
    freq = oc['drawn'].double().mean(0)
    free = ~oc['selected'] & (freq > 0)
    torch.testing.assert_close(oe['reward'][free], oc['reward'][free] * freq[free])
    assert (oc['advantage'][oc['selected']] == 0).all()
    # the baseline is the AP of the NMS output
    sel = oc['selected']
    assert float(oc['baseline']) == pytest.approx(
        image_ap(det[sel], probs[sel], det_labels[sel], gt, gt_labels), abs=1e-12)


# --------------------------------------------------------------- heads
HEAD = head_cfg(
    num_classes=NUM_CLASSES, channels=8, stacked_convs=1, num_groups=None, test_cfg=None,
    regress_ranges=((-1, 16), (16, 32), (32, 1e8)),
    loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
    loss_bbox=dict(type='IoULoss', loss_weight=1.0),
    loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))


def head_inputs(seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = fpn_feats(seed=gen, channels=8, img_shape=(64, 64))
    gts = []
    for _ in range(2):
        xy = torch.rand(3, 2, generator=gen) * 30
        wh = 8 + torch.rand(3, 2, generator=gen) * 24
        gts.append(instances(torch.cat([xy, xy + wh], 1),
                             torch.randint(0, NUM_CLASSES, (3, ), generator=gen)))
    return x, gts, image_metas(img_shape=(64, 64))


@pytest.mark.parametrize('head_type,extra', [
    ('PGFCOSHead', {}),
    ('PGOWPFCOSHead', dict(objectness=('centerness', 'iou'), score_mode='cls*iou')),
])
def test_pg_heads_add_or_replace_loss_cls(head_type, extra):
    feats, gts, metas = head_inputs()
    base_type = 'FCOSHead' if head_type == 'PGFCOSHead' else 'OWPFCOSHead'
    torch.manual_seed(0)
    base = MODELS.build(dict(type=base_type, **HEAD, **extra))
    for replace in (True, False):
        torch.manual_seed(0)
        head = MODELS.build(dict(type=head_type, replace_loss_cls=replace,
                                 loss_pg=dict(type='PolicyGradientLoss', num_candidates=30),
                                 **HEAD, **extra))
        head.load_state_dict(base.state_dict())
        outs = head(feats)
        losses = head.loss_by_feat(*outs, gts, metas)
        ref = base.loss_by_feat(*base(feats), gts, metas)
        assert ('loss_cls' in losses) == (not replace)
        for key in ref:  # the head's own losses are untouched
            if key in losses:
                torch.testing.assert_close(losses[key], ref[key])
        for key in ('pg_baseline_ap', 'pg_sample_ap', 'pg_mean_reward', 'pg_pos_adv_frac'):
            assert 'loss' not in key and torch.isfinite(losses[key])
        total = sum(v for k, v in losses.items() if 'loss' in k)
        total.backward()
        assert head.conv_cls.weight.grad is not None
        assert torch.isfinite(head.conv_cls.weight.grad).all()


def test_pg_head_decodes_candidates_in_pixels(monkeypatch):
    """The loss sees the head's decoded, clipped boxes and its labels (stride-unit outputs
    of a ``norm_on_bbox`` head are scaled back)."""
    feats, gts, metas = head_inputs(1)
    head = MODELS.build(dict(type='PGFCOSHead', norm_on_bbox=True, **HEAD))
    seen = {}

    def spy(self, cls_logits, bboxes, labels, img_inds, batch_gt_instances, score_factors=None):
        seen.update(bboxes=bboxes, labels=labels, img_inds=img_inds)
        return cls_logits.sum() * 0, {}

    monkeypatch.setattr(PolicyGradientLoss, 'forward', spy)
    head.train()
    cls_scores, bbox_preds, centernesses = head(feats)
    head.loss_by_feat(cls_scores, bbox_preds, centernesses, gts, metas)
    points = head.prior_generator.grid_priors([c.shape[-2:] for c in cls_scores], device='cpu')
    # location 5 of image 1 at level 0
    lvl0 = len(points[0])
    dist = bbox_preds[0][1].permute(1, 2, 0).reshape(-1, 4)[5].detach() * 8
    x, y = points[0][5]
    box = torch.stack([x - dist[0], y - dist[1], x + dist[2], y + dist[3]]).clamp(0, 64)
    torch.testing.assert_close(seen['bboxes'][lvl0 + 5], box)
    assert seen['img_inds'][lvl0 + 5] == 1
    labels, _ = head.get_targets(points, gts)
    torch.testing.assert_close(seen['labels'], torch.cat(labels))


def test_pg_head_rejects_frozen_or_class_agnostic_classifier():
    with pytest.raises(ValueError, match='train_cls'):
        MODELS.build(dict(type='PGOWPFCOSHead', train_cls=False, centerness_on_reg=True,
                          **HEAD))
    with pytest.raises(ValueError, match='score_mode'):
        MODELS.build(dict(type='PGOWPFCOSHead', objectness=('iou', ), score_mode='iou',
                          **HEAD))
