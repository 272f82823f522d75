"""OpenWorldCocoMetric and the vectorised evaluator: parity with pycocotools COCOeval
(+ OLN's budget rule, mmowp.evaluation.coco_reference) and with the lvis API, exact: the
same float64 values bit for bit (the evaluator computes every number with the operations,
in the order, pycocotools / COCOeval.summarize use). More and larger random cases:
tests/test_fast_coco_eval.py."""
import copy
import json
import os.path as osp
import sys

import numpy as np
import pytest
import torch
from mmdet.registry import METRICS
from mmengine.structures import InstanceData

import mmowp  # noqa: F401
from mmowp.evaluation import OpenWorldCocoMetric
from mmowp.evaluation.coco_reference import reference_eval
from mmowp.evaluation.fast_coco_eval import Detections, GroundTruth, evaluate_boxes
from mmowp.utils import lvis_numpy_shim

BASE = ('circle', 'square', 'triangle', 'star', 'cross')


# ----------------------------------------------------------------------------- helpers
def _arrays(gt: dict, results: list, split_cat_ids=()):
    anns = gt['annotations']
    g = GroundTruth(np.array([a['image_id'] for a in anns], np.int64),
                    np.array([a['category_id'] for a in anns], np.int64),
                    np.array([a['bbox'] for a in anns], float).reshape(-1, 4),
                    np.array([a['area'] for a in anns], float),
                    np.array([a.get('iscrowd', 0) for a in anns], bool),
                    np.array([a['category_id'] in set(split_cat_ids) for a in anns], bool))
    d = Detections(np.array([r['image_id'] for r in results], np.int64),
                   np.array([r['category_id'] for r in results], np.int64),
                   np.array([r['bbox'] for r in results], float).reshape(-1, 4),
                   np.array([r['score'] for r in results], float))
    return g, d


def _random_case(seed: int, n_img: int = 25, n_cat: int = 6, max_det: int = 40):
    """Random GT (crowd, empty images, nested boxes) and detections (ties, duplicates,
    near-GT jitter, more than k per image, images without detections)."""
    rng = np.random.default_rng(seed)
    images = [dict(id=i + 1, width=128, height=128, file_name='') for i in range(n_img)]
    anns, res = [], []
    for im in images:
        for _ in range(int(rng.integers(0, 8))):
            x, y = rng.uniform(0, 100, 2)
            w, h = rng.uniform(30, 120, 2) if rng.random() < 0.2 else rng.uniform(2, 60, 2)
            anns.append(dict(id=len(anns) + 1, image_id=im['id'],
                             category_id=int(rng.integers(1, n_cat + 1)),
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h * rng.uniform(0.5, 1)),
                             iscrowd=int(rng.random() < 0.08)))
        own = [a for a in anns if a['image_id'] == im['id']]
        for _ in range(int(rng.integers(0, max_det))):
            if own and rng.random() < 0.6:
                g = own[rng.integers(len(own))]['bbox']
                b = [g[0] + rng.normal(0, 3), g[1] + rng.normal(0, 3),
                     g[2] * rng.uniform(0.8, 1.2), g[3] * rng.uniform(0.8, 1.2)]
            else:
                b = [*rng.uniform(0, 100, 2), *rng.uniform(2, 60, 2)]
            res.append(dict(image_id=im['id'], category_id=int(rng.integers(1, n_cat + 1)),
                            bbox=[float(v) for v in b], score=float(np.round(rng.random(), 2))))
            if rng.random() < 0.1:
                res.append(dict(res[-1]))  # exact duplicate
    cats = [dict(id=i + 1, name=f'c{i}') for i in range(n_cat)]
    return dict(images=images, annotations=anns, categories=cats), res


def _assert_parity(gt, res, max_dets, use_cats, split, exclude):
    ref = reference_eval(gt, res, max_dets=max_dets, use_cats=use_cats, split_cat_ids=split,
                         exclude_split_from_budget=exclude)
    g, d = _arrays(gt, res, split)
    ours = evaluate_boxes(g, d, [i['id'] for i in gt['images']],
                          sorted(c['id'] for c in gt['categories']), max_dets=max_dets,
                          use_cats=use_cats, exclude_split_from_budget=exclude,
                          compute_precision=True)
    np.testing.assert_array_equal(ours.recall, ref.eval['recall'])
    np.testing.assert_array_equal(ours.precision, ref.eval['precision'])
    return ours, ref


def _preds_for(gt: dict, seed: int, n_per_img: int = 30, n_labels: int = 5,
               empty_every: int = 0):
    """Per-image predictions (float32 xyxy tensors' numpy, as CocoMetric.process stores)."""
    rng = np.random.default_rng(seed)
    by_img = {}
    for a in gt['annotations']:
        by_img.setdefault(a['image_id'], []).append(a['bbox'])
    preds = []
    for n, im in enumerate(gt['images']):
        boxes = []
        k = 0 if empty_every and n % empty_every == 0 else int(rng.integers(1, n_per_img))
        for _ in range(k):
            own = by_img.get(im['id'], [])
            if own and rng.random() < 0.6:
                x, y, w, h = own[rng.integers(len(own))]
                x, y = x + rng.normal(0, 2), y + rng.normal(0, 2)
                w, h = w * rng.uniform(0.85, 1.15), h * rng.uniform(0.85, 1.15)
            else:
                x, y = rng.uniform(0, 110, 2)
                w, h = rng.uniform(4, 50, 2)
            boxes.append([x, y, x + w, y + h])
        boxes = np.array(boxes, np.float32).reshape(-1, 4)
        scores = np.round(rng.random(len(boxes)), 2).astype(np.float32)
        if len(boxes) > 3:  # a duplicate with the same score
            boxes[1], scores[1] = boxes[0], scores[0]
        preds.append(dict(img_id=im['id'], bboxes=boxes, scores=scores,
                          labels=rng.integers(0, n_labels, len(boxes))))
    return preds


def _results_json(preds, label_cat_ids):
    """What mmdet's CocoMetric.results2json writes for ``preds``."""
    out = []
    for p in preds:
        for b, s, lab in zip(p['bboxes'], p['scores'], p['labels']):
            x1, y1, x2, y2 = b.tolist()
            out.append(dict(image_id=p['img_id'], bbox=[x1, y1, x2 - x1, y2 - y1],
                            score=float(s), category_id=label_cat_ids[int(lab)]))
    return out


def _summ(ev, kind, max_det, area='all', iou=None):
    """COCOeval.summarize's mean, read by value."""
    p = ev.params
    a = p.areaRngLbl.index(area)
    m = list(p.maxDets).index(max_det)
    s = ev.eval['recall'][:, :, a, m] if kind == 'ar' else ev.eval['precision'][..., a, m]
    if iou is not None:
        s = s[np.where(np.isclose(p.iouThrs, iou))[0]]
    s = s[s > -1]
    return float(np.mean(s)) if s.size else -1.0


def _metric(ann_file, **kw):
    kw.setdefault('known_classes', 'owd_base')
    classes = kw.pop('classes', BASE)
    m = OpenWorldCocoMetric(ann_file=ann_file, **kw)
    m.dataset_meta = dict(classes=classes)
    return m


# ----------------------------------------------------------------------------- core parity
@pytest.mark.parametrize('seed', range(6))
@pytest.mark.parametrize('use_cats,exclude', [(False, True), (False, False), (True, False)])
def test_evaluator_parity_random(seed, use_cats, exclude):
    gt, res = _random_case(seed)
    max_dets = (1, 5, 20) if seed % 2 else (10, 100)
    _assert_parity(gt, res, max_dets, use_cats, split={1, 2, 3}, exclude=exclude)


def test_evaluator_parity_edge_cases():
    """No GT, no predictions, crowd GT, duplicates, > k predictions, base objects in the
    budget, score ties across categories, a GT id 1 matched many times by crowd."""
    images = [dict(id=i, width=100, height=100) for i in (1, 2, 3, 4, 7)]
    anns = [
        dict(id=1, image_id=1, category_id=2, bbox=[10, 10, 20, 20], area=400, iscrowd=0),
        dict(id=2, image_id=1, category_id=1, bbox=[50, 50, 30, 30], area=900, iscrowd=0),
        dict(id=3, image_id=1, category_id=2, bbox=[0, 0, 100, 100], area=5000, iscrowd=1),
        dict(id=4, image_id=2, category_id=1, bbox=[5, 5, 10, 10], area=100, iscrowd=0),
        dict(id=5, image_id=2, category_id=2, bbox=[5, 5, 10, 10], area=100, iscrowd=0),
        dict(id=6, image_id=4, category_id=2, bbox=[20, 20, 40, 40], area=1600, iscrowd=0),
        # image 3: no GT; image 7: GT, no predictions
        dict(id=7, image_id=7, category_id=2, bbox=[1, 1, 5, 5], area=25, iscrowd=0),
    ]
    gt = dict(images=images, annotations=anns, categories=[dict(id=1, name='base'),
                                                           dict(id=2, name='novel')])
    res = []
    # image 1: 3 detections on the base object first (higher scores), then the novel one
    for s in (0.99, 0.98, 0.97):
        res.append(dict(image_id=1, category_id=1, bbox=[50, 50, 30, 30], score=s))
    res.append(dict(image_id=1, category_id=2, bbox=[11, 11, 20, 20], score=0.5))
    res += [dict(image_id=1, category_id=2, bbox=[1, 1, 90, 90], score=0.4)] * 3  # crowd
    # image 2: identical GT boxes of both splits, duplicate detections, tied scores
    res += [dict(image_id=2, category_id=c, bbox=[5, 5, 10, 10], score=0.7) for c in (2, 1, 2)]
    # image 3: detections but no GT; image 4: 30 detections, the hit ranked last
    res += [dict(image_id=3, category_id=1, bbox=[0, 0, 10, 10], score=0.3)]
    res += [dict(image_id=4, category_id=2, bbox=[60 + i, 60, 5, 5], score=0.9 - i * 0.01)
            for i in range(29)]
    res.append(dict(image_id=4, category_id=2, bbox=[21, 21, 40, 40], score=0.1))
    for use_cats, exclude in ((False, True), (False, False), (True, False), (True, True)):
        for max_dets in ((1, 2, 10, 100), (3, ), (1, 30)):
            _assert_parity(gt, res, max_dets, use_cats, split={1}, exclude=exclude)


def test_budget_rule_hand_computed():
    """One novel and one base object; the top-scoring detection hits the base object.
    OLN's rule: it does not use up AR@1's budget -> novel AR@1 = 1; without it: 0."""
    gt = dict(images=[dict(id=1)], categories=[dict(id=1, name='b'), dict(id=2, name='n')],
              annotations=[
                  dict(id=1, image_id=1, category_id=1, bbox=[0, 0, 10, 10], area=100,
                       iscrowd=0),
                  dict(id=2, image_id=1, category_id=2, bbox=[50, 50, 10, 10], area=100,
                       iscrowd=0)])
    res = [dict(image_id=1, category_id=1, bbox=[0, 0, 10, 10], score=0.9),
           dict(image_id=1, category_id=1, bbox=[50, 50, 10, 10], score=0.8)]
    g, d = _arrays(gt, res, split_cat_ids={1})
    on = evaluate_boxes(g, d, [1], [1, 2], max_dets=(1, 2), exclude_split_from_budget=True)
    off = evaluate_boxes(g, d, [1], [1, 2], max_dets=(1, 2), exclude_split_from_budget=False)
    assert on.average('recall', max_det=1) == 1.0
    assert off.average('recall', max_det=1) == 0.0
    assert on.average('recall', max_det=2) == off.average('recall', max_det=2) == 1.0
    # the AR-vs-k curve is read at every k
    np.testing.assert_array_equal(on.curve_average(), [1.0, 1.0])
    np.testing.assert_array_equal(off.curve_average(), [0.0, 1.0])


@pytest.mark.parametrize('seed', range(5))
def test_both_protocols_one_pass_parity_random(seed):
    """Novel and base recall under OLN's protocol and the 'removed' one, four
    ``ignore_split`` columns in one pass, each equal to its pycocotools reference (the
    removed protocol's reference deletes the other split's GT)."""
    gt, res = _random_case(seed, n_img=30)
    known, novel = [1, 2, 3], [4, 5, 6]
    max_dets = (1, 5, 20) if seed % 2 else (10, 100)
    g, d = _arrays(gt, res)
    in_novel, in_known = np.isin(g.category_id, novel), np.isin(g.category_id, known)
    g.ignore_split = np.stack([~in_novel, ~in_known, ~in_novel, ~in_known], 1)
    out = evaluate_boxes(g, d, [i['id'] for i in gt['images']], [1, 2, 3, 4, 5, 6],
                         max_dets=max_dets, exclude_split_from_budget=[True, True, False, False])
    refs = _protocol_refs(gt, res, known, novel, max_dets)
    for r, key in zip(out, [('oln', 'novel'), ('oln', 'base'), ('removed', 'novel'),
                            ('removed', 'base')]):
        np.testing.assert_array_equal(r.recall, refs[key].eval['recall'])
        np.testing.assert_array_equal(r.curve[..., max_dets[-1] - 1], r.recall[..., -1])
    assert not np.array_equal(out[0].recall, out[2].recall)
    with pytest.raises(ValueError, match='3 flags for 4'):
        evaluate_boxes(g, d, [1], [1], exclude_split_from_budget=[True] * 3)


def _one_image_gt(boxes, cats):
    return dict(images=[dict(id=1, width=100, height=100, file_name='1.jpg')],
                categories=[dict(id=1, name='base_obj'), dict(id=2, name='novel_obj')],
                annotations=[dict(id=i + 1, image_id=1, category_id=c, bbox=list(b),
                                  area=float(b[2] * b[3]), iscrowd=0)
                             for i, (b, c) in enumerate(zip(boxes, cats))])


def _agnostic_preds(boxes_xywh, scores):
    b = np.array([[x, y, x + w, y + h] for x, y, w, h in boxes_xywh], np.float32)
    return [dict(img_id=1, bboxes=b, scores=np.array(scores, np.float32),
                 labels=np.zeros(len(b), np.int64))]


@pytest.mark.parametrize('ks,expected', [
    # (novel AR@k under 'oln', under 'removed') for each k
    ((1, 2), {1: (0.5, 0.0), 2: (0.5, 0.5)}),
    ((1, 2, 3), {1: (0.5, 0.0), 2: (1.0, 0.5), 3: (1.0, 1.0)}),
])
def test_protocols_worked_example(tmp_path, ks, expected):
    """The README's worked example. One image: a base object B and two novel objects N1,
    N2; three boxes, each exactly on one object, scores B 0.9 > N1 0.8 > N2 0.7.

    'oln': B's box is dropped, but only from the pool of the top max(k) boxes. With
    k = (1, 2) the pool is {B, N1}: N2's box is never reached, so AR@2 = 0.5 (B's box
    still used one of the 2 slots), while AR@1 = 0.5 (N1 moved up). 'removed': B's box is
    a miss: AR@1 = 0, AR@2 = 0.5. With k = (1, 2, 3) the pool holds all three boxes."""
    B, N1, N2 = [10, 10, 20, 20], [50, 10, 20, 20], [10, 50, 20, 20]
    gt = _one_image_gt([B, N1, N2], [1, 2, 2])
    ann = str(tmp_path / 'gt.json')
    with open(ann, 'w') as f:
        json.dump(gt, f)
    preds = _agnostic_preds([B, N1, N2], [0.9, 0.8, 0.7])
    metric = _metric(ann, known_classes=['base_obj'], proposal_nums=ks, class_agnostic=True,
                     classes=('object', ))
    ours, _ = metric.evaluate_predictions(preds)
    for k, (oln, removed) in expected.items():
        assert ours[f'novel_AR@{k}'] == oln
        assert ours[f'novel_removed_AR@{k}'] == removed
        assert ours[f'base_AR@{k}'] == ours[f'base_removed_AR@{k}'] == 1.0
    # "base hits never use the budget" would recall both novel objects with 2 boxes
    assert ours['novel_AR@2'] == expected[2][0]
    # the same numbers from pycocotools (OLN's wrapper, and plain COCOeval on removed GT)
    refs = _protocol_refs(gt, _results_json(preds, [1]), [1], [2], ks)
    for k, (oln, removed) in expected.items():
        assert _summ(refs['oln', 'novel'], 'ar', k) == oln
        assert _summ(refs['removed', 'novel'], 'ar', k) == removed


def test_protocols_differ_at_max_k(tmp_path):
    """At k = max(k) the protocols agree unless a dropped box would have been a true
    positive at a higher IoU threshold: box a (IoU 0.62 with N) takes N at IoU 0.50-0.60;
    box b lies exactly on N, but at IoU 0.5 N is taken, so b matches the base object B
    (IoU 0.8) and OLN drops it. At IoU >= 0.65 N is free again: 'removed' recalls it with
    b (AR = 10/10), 'oln' does not (AR = 3/10)."""
    N, B = [0, 0, 10, 10], [0, 0, 10, 8]
    gt = _one_image_gt([N, B], [2, 1])
    ann = str(tmp_path / 'gt.json')
    with open(ann, 'w') as f:
        json.dump(gt, f)
    preds = _agnostic_preds([[0, 0, 10, 6.2], N], [0.9, 0.8])
    metric = _metric(ann, known_classes=['base_obj'], proposal_nums=(2, ), class_agnostic=True,
                     classes=('object', ))
    ours, _ = metric.evaluate_predictions(preds)
    assert ours['novel_AR@2'] == 0.3  # 3 / 10, the double nearest 0.3
    assert ours['novel_removed_AR@2'] == 1.0
    refs = _protocol_refs(gt, _results_json(preds, [1]), [1], [2], (2, ))
    assert _summ(refs['oln', 'novel'], 'ar', 2) == 0.3
    assert _summ(refs['removed', 'novel'], 'ar', 2) == 1.0


def test_chunking_does_not_change_results():
    gt, res = _random_case(11, n_img=40)
    g, d = _arrays(gt, res, {1, 2})
    args = ([i['id'] for i in gt['images']], [1, 2, 3, 4, 5, 6])
    big = evaluate_boxes(g, d, *args, exclude_split_from_budget=True, compute_precision=True)
    small = evaluate_boxes(g, d, *args, exclude_split_from_budget=True, compute_precision=True,
                           max_chunk_elems=1)
    np.testing.assert_array_equal(big.recall, small.recall)
    np.testing.assert_array_equal(big.precision, small.precision)
    np.testing.assert_array_equal(big.curve, small.curve)


def test_several_splits_in_one_pass_equal_separate_runs():
    gt, res = _random_case(12, n_img=30)
    g, d = _arrays(gt, res)
    cats = np.array([a['category_id'] for a in gt['annotations']])
    two = np.stack([cats <= 3, cats > 3], 1)
    args = ([i['id'] for i in gt['images']], [1, 2, 3, 4, 5, 6])
    kw = dict(max_dets=(1, 10, 100), exclude_split_from_budget=True, compute_precision=True)
    g.ignore_split = two
    both = evaluate_boxes(g, d, *args, **kw)
    for s, one in enumerate(both):
        g.ignore_split = two[:, s]
        ref = evaluate_boxes(g, d, *args, **kw)
        np.testing.assert_array_equal(one.recall, ref.recall)
        np.testing.assert_array_equal(one.precision, ref.precision)
        np.testing.assert_array_equal(one.curve, ref.curve)
    assert not np.array_equal(both[0].recall, both[1].recall)


# ----------------------------------------------------------------------------- the metric
def _load(path):
    with open(path) as f:
        return json.load(f)


def _protocol_refs(gt, res, known_ids, novel_ids, max_dets):
    """pycocotools references of novel and base recall under both protocols: 'oln'
    (other split ``ignored_split`` + OLN's budget rule), 'removed' (other split deleted)."""
    kw = dict(max_dets=max_dets, use_cats=False)
    return {
        ('oln', 'novel'): reference_eval(gt, res, split_cat_ids=known_ids,
                                         exclude_split_from_budget=True, **kw),
        ('oln', 'base'): reference_eval(gt, res, split_cat_ids=novel_ids,
                                        exclude_split_from_budget=True, **kw),
        ('removed', 'novel'): reference_eval(gt, res, remove_cat_ids=known_ids,
                                             exclude_split_from_budget=False, **kw),
        ('removed', 'base'): reference_eval(gt, res, remove_cat_ids=novel_ids,
                                            exclude_split_from_budget=False, **kw)}


@pytest.mark.parametrize('exclude', [True, False])
def test_metric_parity_on_generated_dataset(tiny_owd, exclude):
    """One evaluation gives both protocols: the unprefixed keys follow
    ``exclude_known_from_budget``, the other protocol's keys carry its name; each equals
    its pycocotools reference."""
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    gt = _load(ann)
    base_ids = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    novel_ids = [c['id'] for c in gt['categories'] if c['split'] == 'novel']
    metric = _metric(ann, proposal_nums=(1, 10, 100), exclude_known_from_budget=exclude)
    preds = _preds_for(gt, seed=0, n_per_img=120, empty_every=5)
    ours, curves = metric.evaluate_predictions(preds)
    res = _results_json(preds, base_ids)
    refs = _protocol_refs(gt, res, base_ids, novel_ids, (1, 10, 100))
    primary, other = ('oln', 'removed') if exclude else ('removed', 'oln')
    assert metric.protocols == [primary, other]
    ap = reference_eval(gt, res, max_dets=(1, 10, 100), use_cats=True, cat_ids=base_ids)
    for protocol, tag in ((primary, ''), (other, f'{other}_')):
        for split in ('novel', 'base'):
            ev = refs[protocol, split]
            for k in (1, 10, 100):
                assert ours[f'{split}_{tag}AR@{k}'] == _summ(ev, 'ar', k)
            for area, s in (('small', 's'), ('medium', 'm'), ('large', 'l')):
                assert ours[f'{split}_{tag}AR_{s}@100'] == _summ(ev, 'ar', 100, area)
        # the curve at k equals AR@k
        sfx = f'_{other}' if tag else ''
        assert curves[f'novel{sfx}'][9] == ours[f'novel_{tag}AR@10']
        assert curves[f'base{sfx}'][99] == ours[f'base_{tag}AR@100']
    assert ours['base_AP'] == _summ(ap, 'ap', 100)
    assert ours['base_AP50'] == _summ(ap, 'ap', 100, iou=0.5)
    assert ours['base_AP_m'] == _summ(ap, 'ap', 100, 'medium')
    assert 0 < ours['novel_AR@100'] < 1 and 0 < ours['base_AP'] < 1  # a non-trivial case
    # the protocols differ on this case (else the test could not tell them apart)
    assert any(ours[f'{split}_{other}_AR@{k}'] != pytest.approx(ours[f'{split}_AR@{k}'],
                                                                abs=1e-6)
               for split in ('novel', 'base') for k in (1, 10))
    assert 'base_removed_AP' not in ours and 'base_oln_AP' not in ours  # AP: no protocol


@pytest.mark.parametrize('agnostic', [False, True])
def test_backends_give_the_same_metrics(tiny_owd, agnostic):
    """backend='pycocotools' (COCOeval + OLN's rule, one run per split and protocol) and
    the default 'fast' backend: the same metrics dict and the same curves, exactly."""
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    preds = _preds_for(_load(ann), seed=7, n_per_img=120, empty_every=4)
    kw = dict(proposal_nums=(1, 10, 100), class_agnostic=agnostic)
    fast = _metric(ann, **kw)
    ref = METRICS.build(dict(type='OpenWorldCocoMetric', ann_file=ann, known_classes='owd_base',
                             backend='pycocotools', **kw))
    ref.dataset_meta = fast.dataset_meta
    assert (fast.backend, ref.backend) == ('fast', 'pycocotools')
    ours, curves = fast.evaluate_predictions(preds)
    theirs, ref_curves = ref.evaluate_predictions(preds)
    assert ours == theirs and curves == ref_curves
    assert len(ours) > 20 and (ours['base_AP'] == -1.0) == agnostic and ours['base_AR@10'] > 0
    with pytest.raises(ValueError, match="backend must be one of \\['fast', 'pycocotools'\\]"):
        _metric(ann, backend='cocoapi')


def test_single_protocol_keys(tiny_owd):
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    preds = _preds_for(_load(ann), seed=0, n_per_img=20)
    for exclude in (True, False):
        ours, curves = _metric(ann, exclude_known_from_budget=exclude,
                               both_protocols=False).evaluate_predictions(preds)
        assert not any('oln' in k or 'removed' in k for k in ours)
        both, _ = _metric(ann, exclude_known_from_budget=exclude).evaluate_predictions(preds)
        assert {k: both[k] for k in ours} == ours


def test_metric_class_agnostic_single_label(tiny_owd):
    """A proposal model with one 'object' label: its label must not be dropped as an
    unknown category; the numbers equal a class-aware run of the same boxes."""
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    gt = _load(ann)
    preds = _preds_for(gt, seed=1, n_per_img=60)
    agn = [dict(p, labels=np.zeros_like(p['labels'])) for p in preds]
    metric = _metric(ann, classes=('object', ))
    ours, _ = metric.evaluate_predictions(agn)
    base_ids = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    ref = reference_eval(gt, _results_json(agn, [1]), max_dets=(10, 100),
                         split_cat_ids=base_ids)
    assert ours['novel_AR@10'] == _summ(ref, 'ar', 10)
    assert ours['novel_AR@100'] == _summ(ref, 'ar', 100)
    assert ours['novel_AR@100'] > 0
    assert ours['base_AP'] == -1.0  # class-agnostic: no base AP
    assert metric.table_row(ours)[1].split('|')[0].strip() == 'N/A'


def test_metric_through_mmengine_evaluate(tiny_owd, tmp_path):
    """process() + evaluate() as the runner calls them; outputs written."""
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    gt = _load(ann)
    metric = METRICS.build(dict(type='OpenWorldCocoMetric', ann_file=ann,
                                known_classes='owd_base', plot_dir=str(tmp_path / 'plots'),
                                proposal_file=str(tmp_path / 'props.json')))
    metric.dataset_meta = dict(classes=BASE)
    preds = _preds_for(gt, seed=2)
    samples = []
    for p in preds:
        inst = InstanceData(bboxes=torch.from_numpy(p['bboxes']),
                            scores=torch.from_numpy(p['scores']),
                            labels=torch.from_numpy(p['labels']))
        samples.append(dict(img_id=p['img_id'], ori_shape=(128, 128), pred_instances=inst))
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    direct, _ = _metric(ann).evaluate_predictions(preds)
    assert out['coco/novel_AR@100'] == direct['novel_AR@100']
    assert set(direct) == {k.split('/', 1)[1] for k in out}
    saved = _load(str(tmp_path / 'plots' / 'open_world_metrics.json'))
    assert saved['metrics']['novel_AR@10'] == direct['novel_AR@10']
    assert len(saved['ar_vs_proposals']['k']) == 100
    assert osp.getsize(tmp_path / 'plots' / 'ar_vs_proposals.png') > 1000
    props = _load(str(tmp_path / 'props.json'))
    assert len(props) == sum(min(len(p['scores']), 100) for p in preds)
    assert {p['category_id'] for p in props} == {1}


def test_outputs_without_matplotlib(tiny_owd, tmp_path, monkeypatch):
    """The plot is drawn by mmowp.visualization.ar_curve; without matplotlib (an optional
    extra) the metric still writes its json and says which extra draws the plot."""
    from mmowp.visualization.ar_curve import run_output_dir
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    metric = _metric(ann)
    metrics, curves = metric.evaluate_predictions(_preds_for(_load(ann), seed=8))
    assert run_output_dir(str(tmp_path / 'a'), 'x/y') == str(tmp_path / 'a')
    monkeypatch.setitem(sys.modules, 'matplotlib.figure', None)  # its import fails
    with pytest.warns(UserWarning, match=r'needs the optional package .matplotlib.*not drawn'):
        assert metric.save_outputs(metrics, curves, str(tmp_path / 'out')) is None
    assert _load(str(tmp_path / 'out' / 'open_world_metrics.json'))['metrics'] == metrics
    assert not osp.exists(tmp_path / 'out' / 'ar_vs_proposals.png')


def test_table_row_shape(tiny_owd):
    metric = _metric(osp.join(tiny_owd, 'annotations', 'instances_val.json'))
    metrics = {'base_AP': 0.4421, 'base_AR@10': 0.5533, 'base_AR@100': 0.5923,
               'novel_AR@10': 0.099, 'novel_AR@100': -1, 'base_removed_AR@10': 0.5,
               'base_removed_AR@100': 0.6, 'novel_removed_AR@10': 0.0812,
               'novel_removed_AR@100': 0.2}
    header, values = metric.table_row(metrics)
    assert [h.strip() for h in header.split('|')] == [
        'base AP', 'base AR10', 'base AR100', 'novel AR10', 'novel AR100', 'protocol']
    assert [v.strip() for v in values.split('|')] == ['44.21', '55.33', '59.23', '9.90', 'N/A',
                                                      'oln']
    _, values = metric.table_row(metrics, 'removed')
    assert [v.strip() for v in values.split('|')] == ['44.21', '50.00', '60.00', '8.12', '20.00',
                                                      'removed']
    text = metric.summary_text(metrics)
    assert 'oln: OLN' in text and 'removed: FCOS-OWP' in text and 'novel_removed_AR@k' in text
    with pytest.raises(ValueError, match='unknown protocol'):
        metric.table_row(metrics, 'ignored')


# ----------------------------------------------------------------------------- LVIS
def test_lvis_path_parity(tiny_owd):
    """LVIS json: novel/base recall by the same code (== pycocotools on the same GT),
    base AP == the lvis API (category-aware, federated) on base categories."""
    from lvis import LVIS, LVISEval, LVISResults
    ann = osp.join(tiny_owd, 'annotations', 'lvis_v1_val.json')
    gt = _load(ann)
    base_ids = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    metric = _metric(ann, proposal_nums=(300, ))
    assert metric.ann_format == 'lvis'
    preds = _preds_for(gt, seed=3, n_per_img=40)
    ours, _ = metric.evaluate_predictions(preds)
    res = _results_json(preds, base_ids)
    nov = reference_eval(gt, res, max_dets=(300, ), split_cat_ids=base_ids)
    assert ours['novel_AR@300'] == _summ(nov, 'ar', 300)
    with lvis_numpy_shim():
        lgt = LVIS(ann)
        ev = LVISEval(lgt, LVISResults(lgt, copy.deepcopy(res), max_dets=300), 'bbox')
        ev.params.cat_ids = base_ids
        ev.run()
    r = ev.get_results()
    assert ours['base_AP'] == r['AP']
    assert ours['base_APr'] == r['APr']
    assert ours['base_AP'] > 0


def test_lvis_base_ap_hand_computed(tmp_path):
    """LVIS base AP (federated) on a case worked out by hand, not by the lvis API.

    Base categories A (frequent) and B (common), novel C (rare). Image 1 holds A: a1, a2,
    B: b1 and C: c1; image 2 is verified free of B (``neg_category_ids``); image 3 says
    nothing about B. Every true detection lies exactly on its box (IoU 1 at every
    threshold), the others overlap nothing.

    * A: a1 (0.9), a miss (0.8), a2 (0.7): precision 1 up to recall 1/2, then 2/3; over
      LVIS's 101 recall points AP_A = (51 * 1 + 50 * 2/3) / 101.
    * B: a box on image 2 (0.95) is a false positive (B verified absent there), b1 (0.6)
      is found, a box on image 3 (0.99) is ignored (B neither annotated nor verified
      absent there): precision 1/2 at every recall, AP_B = 1/2.
    * C is novel: its detection does not count, and base AP = (AP_A + AP_B) / 2.
    """
    a1, a2, b1, c1 = [10, 10, 20, 20], [50, 50, 20, 20], [10, 60, 20, 20], [60, 10, 20, 20]
    cats = [dict(id=1, name='cat_a', frequency='f'), dict(id=2, name='cat_b', frequency='c'),
            dict(id=3, name='cat_c', frequency='r')]
    images = [dict(id=i, width=100, height=100, file_name=f'{i}.jpg',
                   neg_category_ids=[2] if i == 2 else [], not_exhaustive_category_ids=[])
              for i in (1, 2, 3)]
    anns = [dict(id=k + 1, image_id=1, category_id=c, bbox=b, area=float(b[2] * b[3]))
            for k, (b, c) in enumerate([(a1, 1), (a2, 1), (b1, 2), (c1, 3)])]
    ann = str(tmp_path / 'lvis.json')
    with open(ann, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)

    def pred(img_id, dets):  # dets: (xywh box, score, label: 0 = A, 1 = B, 2 = C)
        b = np.array([[x, y, x + w, y + h] for (x, y, w, h), _, _ in dets], np.float32)
        return dict(img_id=img_id, bboxes=b, scores=np.array([s for _, s, _ in dets],
                                                             np.float32),
                    labels=np.array([lab for _, _, lab in dets], np.int64))

    miss = [80, 80, 10, 10]
    preds = [pred(1, [(a1, 0.9, 0), (miss, 0.8, 0), (a2, 0.7, 0), (b1, 0.6, 1),
                      (c1, 0.5, 2)]),
             pred(2, [(b1, 0.95, 1)]),
             pred(3, [(b1, 0.99, 1)])]
    metric = _metric(ann, known_classes=['cat_a', 'cat_b'], proposal_nums=(300, ),
                     classes=('cat_a', 'cat_b', 'cat_c'))
    assert metric.ann_format == 'lvis'
    ours, _ = metric.evaluate_predictions(preds)
    ap_a, ap_b = (51 + 50 * 2 / 3) / 101, 0.5
    assert ours['base_AP'] == pytest.approx((ap_a + ap_b) / 2, abs=1e-6)
    assert ours['base_AP50'] == ours['base_AP75'] == pytest.approx(ours['base_AP'], abs=1e-6)
    assert ours['base_APf'] == pytest.approx(ap_a, abs=1e-6)
    assert ours['base_APc'] == pytest.approx(ap_b, abs=1e-6)


# ----------------------------------------------------------------------------- bad input
@pytest.mark.parametrize('mutate,match', [
    (lambda p: p[0]['scores'].__setitem__(0, np.nan), 'NaN or inf'),
    (lambda p: p[0]['bboxes'].__setitem__((0, 0), np.inf), 'NaN or inf'),
    (lambda p: p[0]['bboxes'].__setitem__((0, 2), p[0]['bboxes'][0, 0] - 1), 'negative width'),
    (lambda p: p[0].__setitem__('img_id', 987654), r'image ids \[987654\]'),
    (lambda p: p[0]['labels'].__setitem__(0, 7), 'label 7 outside'),
])
def test_bad_predictions(tiny_owd, mutate, match):
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    preds = _preds_for(_load(ann), seed=4, n_per_img=10)
    preds[0]['bboxes'] = preds[0]['bboxes'][:3].copy()
    preds[0]['bboxes'][:] = [[1, 1, 5, 5], [2, 2, 9, 9], [3, 3, 8, 8]]
    preds[0]['scores'] = np.array([.5, .4, .3], np.float32)
    preds[0]['labels'] = np.array([0, 1, 2])
    mutate(preds)
    with pytest.raises(ValueError, match=match):
        _metric(ann).evaluate_predictions(preds)


def test_bad_splits(tiny_owd, tmp_path):
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    with pytest.raises(ValueError, match=r"unknown split 'vocc'.*'voc'"):
        _metric(ann, known_classes='vocc')
    with pytest.raises(ValueError, match=r"\['person'\] are not in"):
        _metric(ann, known_classes=['circle', 'person'])
    with pytest.raises(ValueError, match='both known and novel'):
        _metric(ann, novel_classes=['circle', 'hexagon'])
    with pytest.raises(ValueError, match='needs ann_file'):
        OpenWorldCocoMetric(known_classes='voc')
    # a split that leaves no novel GT in the file
    gt = _load(ann)
    gt['annotations'] = [a for a in gt['annotations'] if a['category_id'] <= 5]
    only_base = str(tmp_path / 'only_base.json')
    with open(only_base, 'w') as f:
        json.dump(gt, f)
    with pytest.raises(ValueError, match='no annotation of the novel classes'):
        _metric(only_base).evaluate_predictions(_preds_for(gt, seed=5))


def test_progress_large_evaluation_every_path(tmp_path, capfd):
    """>= 1,000 images with the progress bar on: OLN's and the 'removed' protocol as the
    configured one, with and without the other protocol, and a metric used for several
    passes (one bar per pass; mmengine's ProgressBar asserts on a non-positive step, which
    stopped 'removed' evaluations of >= 1,000 images at the end)."""
    rng = np.random.default_rng(0)
    n = 1200
    images = [dict(id=i + 1, width=64, height=64) for i in range(n)]
    anns = [dict(id=len(images) * c + i + 1, image_id=i + 1, category_id=c + 1,
                 bbox=[float(4 + 30 * c), 4.0, 20.0, 20.0], area=400.0, iscrowd=0)
            for i in range(n) for c in (0, 1)]
    ann = str(tmp_path / 'big.json')
    with open(ann, 'w') as f:
        json.dump(dict(images=images, annotations=anns,
                       categories=[dict(id=1, name='base_obj'), dict(id=2, name='novel_obj')]), f)
    preds = []
    for im in images:  # 3 boxes per image: base object, novel object (jittered), noise
        b = np.array([[4, 4, 24, 24], [34, 4, 54, 24], [10, 30, 30, 50]], np.float32)
        b[:2] += rng.normal(0, 1.5, (2, 4)).astype(np.float32)
        preds.append(dict(img_id=im['id'], bboxes=b, scores=rng.random(3).astype(np.float32),
                          labels=np.zeros(3, np.int64)))
    results = {}
    for exclude in (True, False):
        for both in (True, False):
            metric = _metric(ann, known_classes=['base_obj'], proposal_nums=(1, 2, 3),
                             exclude_known_from_budget=exclude, both_protocols=both,
                             progress=True, class_agnostic=True, classes=('object', ))
            results[exclude, both] = metric.evaluate_predictions(preds)[0]
            dt = metric._detections(preds, agnostic=True)
            metric.class_agnostic_recall(dt, metric.novel_ids)  # more passes, same metric
            metric.class_agnostic_recall(dt, metric.known_ids)
    out = capfd.readouterr().out
    assert out.count(f'{n}/{n}') >= 12  # one finished bar per pass
    assert results[True, True]['novel_removed_AR@1'] == results[False, False]['novel_AR@1']
    assert results[False, True]['novel_oln_AR@1'] == results[True, False]['novel_AR@1']
    assert results[True, True]['novel_AR@1'] > results[True, True]['novel_removed_AR@1']
    # the callback itself: a pass restarting its count, or a new total, starts a new bar
    metric = _metric(ann, known_classes=['base_obj'], progress=True)
    update = metric._progress(n)
    for done, total in ((5, 10), (10, 10), (3, 10), (3, 10), (10, 10), (2, 4), (4, 4)):
        update(done, total)
    assert metric._progress(n) is not update
    assert _metric(ann, known_classes=['base_obj'])._progress(999) is None  # default: >= 1000


def test_missing_images_warn(tiny_owd):
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    preds = _preds_for(_load(ann), seed=6)
    with pytest.warns(UserWarning, match='have no prediction record'):
        _metric(ann).evaluate_predictions(preds[1:])
