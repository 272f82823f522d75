"""Tests of OWPFCOSHead (FCOS-OWP §3.1–3.2, Eq. 1–2, Figures 2–3, Appendix B)."""
import glob
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.structures.bbox import bbox_overlaps
from mmengine.config import Config, ConfigDict
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmowp  # noqa: F401  (registration)
from mmowp.models.dense_heads import OWPFCOSHead
from mmowp.models.utils import distance_iou, iou_sampling

from ._helpers import STRIDES, TEST_CFG, C, empty_gt, feats, gts, head_cfg, metas, randomize

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


# --------------------------------------------------------------------------- parity
PARITY_CASES = [
    dict(),
    dict(center_sampling=True, center_sample_radius=1.5),
    dict(centerness_on_reg=True, norm_on_bbox=True, center_sampling=True),
]


@pytest.mark.parametrize('fcos_kwargs', PARITY_CASES)
def test_parity_with_mmdet_fcos(fcos_kwargs):
    """Centerness-only OWP head == mmdet FCOSHead: outputs, losses, gradients, predictions."""
    ref = randomize(FCOSHead(**head_cfg(**fcos_kwargs)))
    owp = OWPFCOSHead(**head_cfg(**fcos_kwargs), objectness=('centerness', ),
                      score_mode='cls*centerness')
    missing = owp.load_state_dict(ref.state_dict(), strict=True)
    assert not missing.missing_keys and not missing.unexpected_keys

    x_ref, x_owp = feats(requires_grad=True), feats(requires_grad=True)
    outs_ref, outs_owp = ref(x_ref), owp(x_owp)
    for lvl_ref, lvl_owp in zip(outs_ref, outs_owp):
        for a, b in zip(lvl_ref, lvl_owp):
            torch.testing.assert_close(a, b)

    loss_ref = ref.loss_by_feat(*outs_ref, gts(), metas())
    loss_owp = owp.loss_by_feat(*outs_owp, gts(), metas())
    assert set(loss_ref) == set(loss_owp) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    for k in loss_ref:
        assert loss_ref[k].item() > 0
        torch.testing.assert_close(loss_ref[k], loss_owp[k])

    sum(loss_ref.values()).backward()
    sum(loss_owp.values()).backward()
    grads_owp = dict(owp.named_parameters())
    for name, p in ref.named_parameters():
        assert p.grad is not None, name
        torch.testing.assert_close(p.grad, grads_owp[name].grad, msg=name)
    for a, b in zip(x_ref, x_owp):
        torch.testing.assert_close(a.grad, b.grad)

    ref.eval()
    owp.eval()
    with torch.no_grad():
        pred_ref = ref.predict_by_feat(*ref(feats()), batch_img_metas=metas())
        pred_owp = owp.predict_by_feat(*owp(feats()), batch_img_metas=metas())
    for r, o in zip(pred_ref, pred_owp):
        assert len(r) > 0
        torch.testing.assert_close(r.bboxes, o.bboxes)
        torch.testing.assert_close(r.scores, o.scores)
        assert torch.equal(r.labels, o.labels)


# --------------------------------------------------------------------------- Eq. 2
def test_distance_iou_hand_computed():
    # perfect prediction -> 1
    t = torch.tensor([[3., 1., 2., 5.], [0.5, 0.5, 0.5, 0.5]])
    torch.testing.assert_close(distance_iou(t, t), torch.ones(2))
    # (l, t, r, b) = (1, 1, 1, 1) vs (2, 1, 2, 1): I = (1 + 1) * (1 + 1) = 4,
    # U = (2 + 2) * (1 + 1) + (1 + 1) * (1 + 1) - 4 = 8 -> 0.5
    # (3, .5, 1, 2) vs (1, 1, 2, 2): I = (1 + 1) * (2 + .5) = 5, U = 3 * 3 + 4 * 2.5 - 5 = 14
    pred = torch.tensor([[1., 1., 1., 1.], [3., .5, 1., 2.]])
    target = torch.tensor([[2., 1., 2., 1.], [1., 1., 2., 2.]])
    torch.testing.assert_close(distance_iou(pred, target), torch.tensor([0.5, 5. / 14.]))
    # same as mmdet's IoU of the decoded boxes (both contain the point)
    g = torch.Generator().manual_seed(0)
    pred, target = torch.rand(50, 4, generator=g) * 20, torch.rand(50, 4, generator=g) * 20
    pt = torch.rand(50, 2, generator=g) * 100

    def decode(d):
        return torch.stack([pt[:, 0] - d[:, 0], pt[:, 1] - d[:, 1],
                            pt[:, 0] + d[:, 2], pt[:, 1] + d[:, 3]], -1)

    torch.testing.assert_close(distance_iou(pred, target),
                               bbox_overlaps(decode(pred), decode(target), is_aligned=True))


def test_iou_sampling_zeroes_exactly_below_threshold():
    t = torch.tensor([0.0, 0.1, 0.2999, 0.3, 0.31, 0.9, 1.0])
    torch.testing.assert_close(iou_sampling(t, 0.3),
                               torch.tensor([0.0, 0.0, 0.0, 0.3, 0.31, 0.9, 1.0]))
    assert iou_sampling(t, None) is t
    with pytest.raises(ValueError):
        iou_sampling(t, 1.5)


def test_head_iou_targets_use_detached_predictions_and_iou_sampling():
    head = OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode='iou',
                       iou_sampling_thr=0.3, iou_sampling='relabel')
    preds = torch.tensor([[1., 1., 1., 1.], [3., .5, 1., 2.], [1., 1., 1., 1.],
                          [4., 4., 4., 4.]], requires_grad=True)
    targets = torch.tensor([[2., 1., 2., 1.], [1., 1., 2., 2.], [9., 9., 9., 9.],
                            [4., 4., 4., 4.]])
    pos = torch.tensor([True, True, True, False])
    inds, iou = head.get_objectness_targets(preds, targets, pos, pos, targets)['iou']
    assert inds.tolist() == [0, 1, 2]
    # 0.5 kept, 5/14 (> 0.3) kept, 4/324 (< 0.3) -> 0
    torch.testing.assert_close(iou, torch.tensor([0.5, 5. / 14., 0.0]))
    assert not iou.requires_grad
    head.iou_sampling_thr = None
    _, iou = head.get_objectness_targets(preds, targets, pos, pos, targets)['iou']
    torch.testing.assert_close(iou, torch.tensor([0.5, 5. / 14., 4. / 324.]))


def test_iou_loss_is_bce_against_eq2_targets():
    """loss_iou = BCE(iou logits at positives, IoU(detached pred, target)) / num_pos."""
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode='iou',
                                 iou_sampling_thr=0.3, iou_sampling='relabel',
                                 center_sampling=True))
    cls, bbox, obj = head(feats())
    losses = head.loss_by_feat(cls, bbox, obj, gts(), metas())
    points = head.prior_generator.grid_priors([b.shape[-2:] for b in bbox], device='cpu')
    labels, targets = head.get_targets(points, gts())
    labels, targets = torch.cat(labels), torch.cat(targets)
    pos = labels < head.num_classes
    flat_bbox = torch.cat([b.permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox])[pos]
    flat_obj = torch.cat([o.permute(0, 2, 3, 1).reshape(-1) for o in obj])[pos]
    iou = distance_iou(flat_bbox.detach(), targets[pos])
    iou = torch.where(iou < 0.3, torch.zeros_like(iou), iou)
    assert 0 < (iou == 0).sum() < len(iou)  # IoU Sampling made hard negatives, not all
    expected = F.binary_cross_entropy_with_logits(flat_obj, iou, reduction='sum') / pos.sum()
    torch.testing.assert_close(losses['loss_iou'], expected)
    assert 'loss_centerness' not in losses


# --------------------------------------------------------------------------- All Sampling
def test_all_sampling_target_map_matches_hand_drawn():
    """32x32 image, one level of stride 8: locations at x, y in {4, 12, 20, 28}.

    GT A = [2, 2, 14, 14] covers x, y in {4, 12}; GT B = [10, 10, 30, 30] covers x, y in
    {12, 20, 28}; (12, 12) lies in both and goes to the smaller A. Centerness (Eq. 1) against
    A is 0.2 at its four locations; against B it is sqrt(fx * fy) with f = 1/9, 1, 1/9 for
    12, 20, 28. Only (20, 20) is a positive (center sampling radius 0.5 stride).
    """
    head = OWPFCOSHead(num_classes=2, in_channels=16, feat_channels=16, stacked_convs=1,
                       strides=(8, ), regress_ranges=((-1, 1e8), ),
                       norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                       center_sampling=True, center_sample_radius=0.5,
                       objectness=('centerness', ), objectness_sampling='all')
    gt = InstanceData(bboxes=torch.tensor([[2., 2., 14., 14.], [10., 10., 30., 30.]]),
                      labels=torch.tensor([0, 1]))
    n, t = 1 / 9, 1 / 3
    expected = torch.tensor([[.2, .2, 0, 0],
                             [.2, .2, t, n],
                             [0, t, 1, t],
                             [0, n, t, n]])
    logits = torch.randn(1, 1, 4, 4)
    cls = torch.zeros(1, 2, 4, 4)
    bbox = torch.full((1, 4, 4, 4), 4.)
    losses = head.loss_by_feat([cls], [bbox], [logits], [gt], metas(1))

    points = head.prior_generator.grid_priors([(4, 4)], device='cpu')
    labels, targets = head.get_targets(points, [gt])
    assert (labels[0] < 2).nonzero().reshape(-1).tolist() == [10]  # only (20, 20)
    inside, regions = head.get_objectness_regions(points, [gt])
    inds, centerness = head.get_objectness_targets(
        bbox.permute(0, 2, 3, 1).reshape(-1, 4), targets[0], labels[0] < 2, inside[0],
        regions[0])['centerness']
    assert inds.tolist() == list(range(16))
    torch.testing.assert_close(centerness.reshape(4, 4), expected)
    assert inside[0].reshape(4, 4).tolist() == (expected > 0).tolist()
    # the loss is the BCE over every location, averaged over the 16 locations
    torch.testing.assert_close(
        losses['loss_centerness'],
        F.binary_cross_entropy_with_logits(logits.reshape(4, 4), expected))

    head_center = OWPFCOSHead(num_classes=2, in_channels=16, feat_channels=16, stacked_convs=1,
                              strides=(8, ), regress_ranges=((-1, 1e8), ),
                              norm_cfg=dict(type='GN', num_groups=4, requires_grad=True),
                              center_sampling=True, center_sample_radius=0.5)
    losses_c = head_center.loss_by_feat([cls], [bbox], [logits], [gt], metas(1))
    torch.testing.assert_close(losses_c['loss_centerness'],
                               F.binary_cross_entropy_with_logits(logits[0, 0, 2, 2],
                                                                  torch.tensor(1.)))


# --------------------------------------------------------------------------- conditional
def test_conditional_input_channels():
    head = OWPFCOSHead(num_classes=20, in_channels=256, stacked_convs=1,
                       objectness=('centerness', 'iou'), conditional=True,
                       score_mode='sqrt(centerness*iou)')
    assert head.conv_iou.in_channels == head.conv_centerness.in_channels == 256 + 4
    small = OWPFCOSHead(**head_cfg(), objectness=('iou', ), conditional=True, score_mode='iou')
    assert small.conv_iou.in_channels == C + 4
    assert not hasattr(small, 'conv_centerness')
    plain = OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode='iou')
    assert plain.conv_iou.in_channels == C


def test_conditional_conv_equals_conv_on_concatenation():
    """Figure 2: the objectness conv sees cat([regression tower feature, regression output])."""
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('centerness', 'iou'),
                                 conditional=True, score_mode='sqrt(centerness*iou)'))
    x = feats()[0]
    reg_feat = x
    for layer in head.reg_convs:
        reg_feat = layer(reg_feat)
    reg_out = head.scales[0](head.conv_reg(reg_feat))
    cat = torch.cat([reg_feat, reg_out], 1)
    assert cat.size(1) == C + 4
    expected = torch.cat([head.conv_centerness(cat), head.conv_iou(cat)], 1)
    torch.testing.assert_close(head.forward_single(x, head.scales[0], STRIDES[0])[2], expected)


def test_conditional_reads_regression_prediction_and_gradient_flow():
    """The conditional branch sees the regression output (changing conv_reg changes the
    objectness) but the copy is detached: the objectness loss trains the regression tower
    (reg_convs) and the objectness conv, never conv_reg."""
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('iou', ), conditional=True,
                                 score_mode='iou', center_sampling=True))
    x = feats()
    obj_before = head(x)[2][0].detach().clone()
    with torch.no_grad():
        head.conv_reg.bias.add_(0.7)
    obj_after = head(x)[2][0]
    assert not torch.allclose(obj_before, obj_after)

    losses = head.loss_by_feat(*head(x), gts(), metas())
    losses['loss_iou'].backward()
    assert head.conv_iou.weight.grad.abs().sum() > 0
    assert head.conv_iou.weight.grad[:, C:].abs().sum() > 0  # the 4 regression channels
    assert head.reg_convs[0].conv.weight.grad.abs().sum() > 0
    assert head.conv_reg.weight.grad is None or head.conv_reg.weight.grad.abs().sum() == 0
    assert head.cls_convs[0].conv.weight.grad is None  # regression tower only


# --------------------------------------------------------------------------- robustness
@pytest.mark.parametrize('kwargs', [
    dict(objectness=('centerness', ), score_mode='centerness'),
    dict(objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)',
         iou_sampling_thr=0.3, center_sampling=True),
    dict(objectness=('iou', ), score_mode='iou', conditional=True, objectness_sampling='all',
         iou_sampling_thr=0.3, train_cls=False, centerness_on_reg=True),
])
@pytest.mark.parametrize('batch_gts', ['all_empty', 'one_empty'])
def test_no_gt_images_train_without_nan(kwargs, batch_gts):
    head = randomize(OWPFCOSHead(**head_cfg(), **kwargs))
    gt_list = [empty_gt(), empty_gt()] if batch_gts == 'all_empty' else [empty_gt(), gts()[0]]
    losses = head.loss_by_feat(*head(feats()), gt_list, metas())
    total = sum(losses.values())
    assert torch.isfinite(total)
    total.backward()
    for name, p in head.named_parameters():
        if p.grad is not None:
            assert torch.isfinite(p.grad).all(), name
    if batch_gts == 'all_empty' and kwargs.get('objectness_sampling') == 'all':
        assert losses['loss_iou'] > 0  # every location is a negative


SEED000_SCORE_MODES = ('cls*centerness', 'centerness', 'iou', 'sqrt(centerness*iou)', 'cls*iou',
                       'cls*sqrt(centerness*iou)')


@pytest.mark.parametrize('mode', SEED000_SCORE_MODES)
def test_score_modes(mode):
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('centerness', 'iou'),
                                 score_mode=mode)).eval()
    with torch.no_grad():
        cls, bbox, obj = head(feats())
        results = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas())
    for img_id, res in enumerate(results):
        assert 0 < len(res) <= TEST_CFG['max_per_img']
        assert (res.scores >= 0).all() and (res.scores <= 1).all()
        assert (res.scores[:-1] >= res.scores[1:]).all()
        if mode in OWPFCOSHead.CLASS_AGNOSTIC_MODES:
            assert head.class_agnostic and (res.labels == 0).all()
            # the best location always survives NMS: its score is the best objectness
            c = torch.cat([o[img_id, 0].flatten() for o in obj]).sigmoid()
            i = torch.cat([o[img_id, 1].flatten() for o in obj]).sigmoid()
            best = dict(centerness=c, iou=i)[mode] if mode != 'sqrt(centerness*iou)' \
                else torch.sqrt(c * i)
            torch.testing.assert_close(res.scores[0], best.max())
        else:
            assert not head.class_agnostic
            assert ((res.labels >= 0) & (res.labels < 3)).all()
            assert len(res.labels.unique()) > 1



@pytest.mark.parametrize('mode', ['iou', 'cls*iou'])
def test_nms_pre_scope_image_keeps_the_top_k_over_all_levels(mode):
    """FCOS-OWP §3.1: "The top 2000 proposals [...] are passed to NMS" -- one top-k over all
    levels (``nms_pre_scope='image'``), against mmdet's top-k per level (``'level'``)."""
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode=mode)).eval()
    with torch.no_grad():
        cls, bbox, obj = head(feats())
    sizes = [o.shape[-2] * o.shape[-1] for o in obj]
    k = 20
    assert sizes[-1] < k < sizes[0]
    for scope in ('level', 'image'):
        cfg = ConfigDict(TEST_CFG, nms_pre=k, nms_pre_scope=scope)
        with torch.no_grad():
            results = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas(), cfg=cfg,
                                           with_nms=False)
        for img_id, res in enumerate(results):
            # per level: the selection score of each candidate (the IoU probability, or the
            # class probability of a (location, class) pair) and its final score
            select, final = [], []
            for c, o in zip(cls, obj):
                iou = o[img_id, 0].flatten().sigmoid()
                if mode == 'iou':
                    select.append(iou)
                    final.append(iou)
                else:
                    prob = c[img_id].flatten(1).t().sigmoid()  # (locations, classes)
                    select.append(prob.flatten())
                    final.append((prob * iou[:, None]).flatten())
            if scope == 'image':
                top = torch.cat(select).topk(k).indices
                expected = torch.cat(final)[top]
            else:
                expected = torch.cat([f[s.topk(min(k, len(s))).indices]
                                      for s, f in zip(select, final)])
            assert len(res) == len(expected)
            torch.testing.assert_close(res.scores.sort().values, expected.sort().values)
        if scope == 'image':
            assert len(expected) == k


def test_nms_pre_scope_default_is_mmdet_and_bad_values_are_refused():
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode='iou')).eval()
    with torch.no_grad():
        cls, bbox, obj = head(feats())
        default = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas())
        level = head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas(),
                                     cfg=ConfigDict(TEST_CFG, nms_pre_scope='level'))
        for a, b in zip(default, level):
            assert torch.equal(a.bboxes, b.bboxes) and torch.equal(a.scores, b.scores)
        with pytest.raises(ValueError, match='nms_pre_scope'):
            head.predict_by_feat(cls, bbox, obj, batch_img_metas=metas(),
                                 cfg=ConfigDict(TEST_CFG, nms_pre_scope='all'))

def test_objectness_maps_returned_when_asked():
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('centerness', 'iou'),
                                 score_mode='iou')).eval()
    with torch.no_grad():
        outs = head(feats())
        plain = head.predict_by_feat(*outs, batch_img_metas=metas())
        res = head.predict_by_feat(*outs, batch_img_metas=metas(), return_objectness_maps=True)
    assert 'objectness_maps' not in plain[0].metainfo
    maps = res[1].metainfo['objectness_maps']
    assert set(maps) == {'centerness', 'iou'}
    assert res[1].metainfo['objectness_strides'] == STRIDES
    for lvl, o in enumerate(outs[2]):
        torch.testing.assert_close(maps['iou'][lvl], o[1, 1].sigmoid())
        torch.testing.assert_close(maps['centerness'][lvl], o[1, 0].sigmoid())
    head.test_cfg['return_objectness_maps'] = True
    with torch.no_grad():
        assert 'objectness_maps' in head.predict_by_feat(*outs, batch_img_metas=metas())[0]


# --------------------------------------------------------------------------- train_cls
def test_frozen_classifier_gets_no_loss_no_gradient_no_update():
    from mmengine.optim import build_optim_wrapper
    head = randomize(OWPFCOSHead(**head_cfg(), objectness=('iou', ), score_mode='iou',
                                 centerness_on_reg=True, train_cls=False))
    frozen = {n: p.detach().clone() for n, p in head.named_parameters()
              if n.startswith(('cls_convs', 'conv_cls'))}
    assert frozen and all(not p.requires_grad for n, p in head.named_parameters()
                          if n in frozen)
    others = {n: p.detach().clone() for n, p in head.named_parameters() if n not in frozen}
    optim = build_optim_wrapper(head, dict(
        type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1, momentum=0.9,
                                            weight_decay=0.1)))
    for _ in range(2):
        losses = head.loss_by_feat(*head(feats()), gts(), metas())
        assert 'loss_cls' not in losses
        optim.update_params(sum(losses.values()))
    for n, p in head.named_parameters():
        if n in frozen:
            assert p.grad is None, n
            assert torch.equal(p, frozen[n]), n
    assert not torch.equal(dict(head.named_parameters())['conv_iou.weight'],
                           others['conv_iou.weight'])


def test_bad_configs_raise_clear_errors():
    with pytest.raises(ValueError, match='centerness_on_reg'):
        OWPFCOSHead(**head_cfg(), train_cls=False)
    with pytest.raises(ValueError, match="'iou'"):
        OWPFCOSHead(**head_cfg(), objectness=('centerness', ), score_mode='iou')
    with pytest.raises(ValueError, match='score_mode'):
        OWPFCOSHead(**head_cfg(), score_mode='cls*nonsense')
    with pytest.raises(ValueError, match='objectness'):
        OWPFCOSHead(**head_cfg(), objectness=('iou', 'boxness'), score_mode='iou')
    with pytest.raises(ValueError, match='objectness_sampling'):
        OWPFCOSHead(**head_cfg(), objectness_sampling='everything')
    with pytest.raises(ValueError, match='iou_sampling_thr'):
        OWPFCOSHead(**head_cfg(), iou_sampling_thr=0.3)  # no iou branch


# --------------------------------------------------------------------------- configs
OWP_CONFIGS = sorted(glob.glob(osp.join(REPO, 'configs/owp/*.py'))
                     + glob.glob(osp.join(REPO, 'configs/toy/owp-fcos-*.py')))


@pytest.mark.parametrize('path', OWP_CONFIGS, ids=osp.basename)
def test_configs_load_and_build(path):
    cfg = Config.fromfile(path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    head_cfg_ = cfg.model.bbox_head
    assert head_cfg_.train_cls is False
    assert head_cfg_.score_mode in OWPFCOSHead.CLASS_AGNOSTIC_MODES
    model = MODELS.build(cfg.model)
    assert isinstance(model.bbox_head, OWPFCOSHead)
    if '/configs/owp/' in path:
        assert model.bbox_head.num_classes == 20
