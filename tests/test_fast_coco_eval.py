"""The vectorised evaluator (mmowp.evaluation.fast_coco_eval) against pycocotools on larger
random cases, exact: recall, precision, the AR-vs-k curve and the summary numbers are the
same float64 values, bit for bit.

The oracle is pycocotools' ``COCOeval`` (``iouType='bbox'``), with OLN's budget rule added
on top of its unmodified matching by ``mmowp.evaluation.coco_reference``. Cases cover crowd
GT (ignore regions matched many times), GT of the other split (ignored, with and without
OLN's rule, and deleted for the 'removed' protocol), area ranges (COCO's and custom ones,
by annotation area vs detection box area), several ``max_dets``, custom IoU thresholds,
exact IoU ties on integer boxes, score ties, duplicates, zero-area boxes, images and
categories outside ``img_ids`` / ``cat_ids``, images without GT or detections.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pytest

from mmowp.evaluation.coco_reference import evaluate_boxes_reference, reference_eval
from mmowp.evaluation.fast_coco_eval import Detections, GroundTruth, evaluate_boxes, summary


def _random_case(seed: int, n_img: int, n_cat: int = 8, max_gt: int = 14,
                 max_det: int = 120, grid: bool = False) -> Tuple[dict, List[dict]]:
    """COCO GT and results. ``grid``: integer boxes on a coarse grid, so that IoUs hit the
    thresholds exactly (0.5, 0.75, ...) and several GT have the same IoU with a box."""
    rng = np.random.default_rng(seed)
    images = [dict(id=3 * i + 2) for i in range(n_img)]  # ids not 1..n, not contiguous

    def box() -> List[float]:
        if grid:
            return [float(v) for v in (*rng.integers(0, 12, 2) * 4, *rng.integers(1, 8, 2) * 4)]
        big = rng.random() < 0.2
        w, h = rng.uniform(30, 160, 2) if big else np.exp(rng.uniform(np.log(2), np.log(60), 2))
        return [float(v) for v in (*rng.uniform(0, 120, 2), w, h)]

    anns, results = [], []
    for im in images:
        own = []
        for _ in range(int(rng.integers(0, max_gt + 1))):
            b = box()
            crowd = rng.random() < 0.1
            if crowd and rng.random() < 0.5:  # a large ignore region over several objects
                b = [b[0] / 2, b[1] / 2, b[2] * 2 + 20, b[3] * 2 + 20]
            anns.append(dict(id=len(anns) + 1, image_id=im['id'],
                             category_id=int(rng.integers(1, n_cat + 1)), bbox=b,
                             area=float(b[2] * b[3] * rng.uniform(0.4, 1.0)),
                             iscrowd=int(crowd)))
            own.append(b)
        for _ in range(int(rng.integers(0, max_det + 1))):
            if own and rng.random() < 0.6:
                g = own[rng.integers(len(own))]
                if grid:
                    b = [g[0] + 4 * rng.integers(-1, 2), g[1], g[2] + 4 * rng.integers(-1, 2),
                         g[3]]
                else:
                    b = [g[0] + rng.normal(0, 0.05) * g[2], g[1] + rng.normal(0, 0.05) * g[3],
                         g[2] * rng.uniform(0.75, 1.3), g[3] * rng.uniform(0.75, 1.3)]
            else:
                b = box()
            if rng.random() < 0.01:
                b[2] = 0.0  # zero area
            results.append(dict(image_id=im['id'], category_id=int(rng.integers(1, n_cat + 1)),
                                bbox=[float(v) for v in b],
                                score=float(np.round(rng.random(), 1 if grid else 2))))
            if rng.random() < 0.05:
                results.append(dict(results[-1]))  # exact duplicate
    return dict(images=images, annotations=anns,
                categories=[dict(id=c + 1, name=f'c{c + 1}') for c in range(n_cat)]), results


def _columns(gt: dict, results: List[dict],
             ignore_split: Optional[np.ndarray] = None) -> Tuple[GroundTruth, Detections]:
    anns = gt['annotations']
    return (GroundTruth(np.array([a['image_id'] for a in anns], np.int64),
                        np.array([a['category_id'] for a in anns], np.int64),
                        np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4),
                        np.array([a['area'] for a in anns], np.float64),
                        np.array([a['iscrowd'] for a in anns], bool), ignore_split),
            Detections(np.array([r['image_id'] for r in results], np.int64),
                       np.array([r['category_id'] for r in results], np.int64),
                       np.array([r['bbox'] for r in results], np.float64).reshape(-1, 4),
                       np.array([r['score'] for r in results], np.float64)))


def _summarize(ev, kind: str, max_det: int, area: str = 'all',
               iou: Optional[float] = None) -> float:
    """``COCOeval.summarize``'s number, read by value (its code, not ours)."""
    p = ev.params
    a = list(p.areaRngLbl).index(area)
    m = list(p.maxDets).index(max_det)
    s = ev.eval['recall'][:, :, a, m] if kind == 'recall' else ev.eval['precision'][..., a, m]
    if iou is not None:
        s = s[np.where(np.abs(p.iouThrs - iou) < 1e-12)[0]]
    return float(np.mean(s[s > -1])) if (s > -1).any() else -1.0


def _check(ours, ev, max_dets: Sequence[int], precision: bool = True) -> None:
    """Every array and every summary number of ``ours`` equals pycocotools' ``ev``."""
    np.testing.assert_array_equal(ours.recall, ev.eval['recall'])
    if precision:
        np.testing.assert_array_equal(ours.precision, ev.eval['precision'])
    for a in ours.area_labels:
        for k in max_dets:
            assert ours.average('recall', area=a, max_det=k) == _summarize(ev, 'recall', k, a)
        if precision:
            assert ours.average('precision', area=a) == _summarize(ev, 'precision',
                                                                    max_dets[-1], a)
            for iou in (0.5, 0.75):
                if np.isclose(ours.iou_thrs, iou).any():
                    assert ours.average('precision', iou=iou, area=a) == _summarize(
                        ev, 'precision', max_dets[-1], a, iou)
    # the AR-vs-k curve at k is AR@k, bit for bit
    for a in ours.area_labels:
        curve = ours.curve_average(a)
        for k in max_dets:
            assert curve[k - 1] == ours.average('recall', area=a, max_det=k)


# (seed, images, grid boxes, use_cats, max_dets)
CASES = [(0, 80, False, False, (1, 10, 100)), (1, 60, True, False, (1, 5, 20)),
         (2, 120, False, True, (10, 100)), (3, 60, True, True, (3, 30)),
         (4, 150, False, False, (100, )), (5, 80, True, False, (1, 2, 3, 50)),
         (6, 100, False, True, (1, 10, 100)), (7, 40, True, True, (100, ))]


@pytest.mark.parametrize('seed,n_img,grid,use_cats,max_dets', CASES)
@pytest.mark.parametrize('exclude', [True, False])
def test_parity_split_ignored(seed, n_img, grid, use_cats, max_dets, exclude):
    """GT of categories 1-3 is ignore_split (OLN's rule on or off): recall, precision,
    summary numbers and the curve equal pycocotools."""
    gt, res = _random_case(seed, n_img, grid=grid)
    split = {1, 2, 3}
    ref = reference_eval(gt, res, max_dets=max_dets, use_cats=use_cats, split_cat_ids=split,
                         exclude_split_from_budget=exclude)
    g, d = _columns(gt, res)
    g.ignore_split = np.isin(g.category_id, list(split))
    ours = evaluate_boxes(g, d, [i['id'] for i in gt['images']], range(1, 9),
                          max_dets=max_dets, use_cats=use_cats,
                          exclude_split_from_budget=exclude, compute_precision=True)
    _check(ours, ref, max_dets)
    assert ours.num_gt.sum() > 0 and (ours.recall > 0).any()  # not a trivial case


@pytest.mark.parametrize('seed', range(8, 14))
def test_parity_both_protocols_one_pass(seed):
    """Novel and base recall under OLN's protocol and the 'removed' one, four
    ``ignore_split`` columns of one pass, each equal to pycocotools; 'removed' against
    COCOeval on the GT with the other split *deleted* (recall only: there a hit on deleted
    GT is a false positive, with ignore_split it is ignored)."""
    gt, res = _random_case(seed, n_img=100, grid=seed % 2 == 0)
    known, novel = [1, 2, 3, 4], [5, 6, 7, 8]
    max_dets = ((1, 10, 100), (5, 50), (1, 3, 30))[seed % 3]
    g, d = _columns(gt, res)
    in_novel, in_known = np.isin(g.category_id, novel), np.isin(g.category_id, known)
    g.ignore_split = np.stack([~in_novel, ~in_known, ~in_novel, ~in_known], 1)
    out = evaluate_boxes(g, d, [i['id'] for i in gt['images']], range(1, 9),
                         max_dets=max_dets, exclude_split_from_budget=[True, True, False, False])
    kw = dict(max_dets=max_dets, use_cats=False)
    refs = [reference_eval(gt, res, split_cat_ids=known, exclude_split_from_budget=True, **kw),
            reference_eval(gt, res, split_cat_ids=novel, exclude_split_from_budget=True, **kw),
            reference_eval(gt, res, remove_cat_ids=known, exclude_split_from_budget=False, **kw),
            reference_eval(gt, res, remove_cat_ids=novel, exclude_split_from_budget=False, **kw)]
    for ours, ref in zip(out, refs):
        _check(ours, ref, max_dets, precision=False)
        assert summary(ours) == {
            **{f'AR@{k}': _summarize(ref, 'recall', k) for k in max_dets},
            **{f'AR_{s}@{max_dets[-1]}': _summarize(ref, 'recall', max_dets[-1], a)
               for s, a in (('s', 'small'), ('m', 'medium'), ('l', 'large'))}}
    assert not np.array_equal(out[0].recall, out[2].recall)  # the protocols differ here


@pytest.mark.parametrize('use_cats', [False, True])
def test_parity_custom_areas_thresholds_subsets(use_cats):
    """Custom area ranges (overlapping, by GT ``area`` vs detection ``w * h``), custom IoU
    thresholds, a subset of the images and of the categories (given out of order: with
    ``use_cats=False`` that order breaks score ties, as pycocotools concatenates)."""
    gt, res = _random_case(20, n_img=90)
    img_ids = [i['id'] for i in gt['images']][::2] + [10 ** 6]  # one id without any record
    cat_ids = [7, 2, 5, 1, 8]
    areas, labels = ((0.0, 300.0), (100.0, 2500.0), (2000.0, 1e10)), ('a', 'b', 'c')
    thrs, max_dets = [0.3, 0.5, 0.65, 0.9], (2, 25)
    ref = reference_eval(gt, res, max_dets=max_dets, use_cats=use_cats, cat_ids=cat_ids,
                         img_ids=img_ids, split_cat_ids={2}, iou_thrs=thrs,
                         area_ranges=areas, area_labels=labels)
    g, d = _columns(gt, res)
    g.ignore_split = g.category_id == 2
    ours = evaluate_boxes(g, d, img_ids, cat_ids, max_dets=max_dets, use_cats=use_cats,
                          iou_thrs=thrs, area_ranges=areas, area_labels=labels,
                          exclude_split_from_budget=True, compute_precision=True)
    _check(ours, ref, max_dets)
    assert ours.area_labels == labels and list(ours.iou_thrs) == thrs


def test_parity_degenerate_inputs():
    """No detections; no GT; only crowd GT; detections only on images without GT."""
    gt, res = _random_case(30, n_img=20)
    img_ids = [i['id'] for i in gt['images']]
    crowd_only = dict(gt, annotations=[dict(a, iscrowd=1) for a in gt['annotations']])
    no_gt_imgs = {a['image_id'] for a in gt['annotations']}
    cases = [(gt, []), (dict(gt, annotations=[]), res), (crowd_only, res),
             (gt, [r for r in res if r['image_id'] not in no_gt_imgs])]
    for case_gt, case_res in cases:
        for use_cats in (False, True):
            ref = reference_eval(case_gt, case_res, max_dets=(1, 10), use_cats=use_cats)
            g, d = _columns(case_gt, case_res)
            ours = evaluate_boxes(g, d, img_ids, range(1, 9), max_dets=(1, 10),
                                  use_cats=use_cats, compute_precision=True)
            _check(ours, ref, (1, 10))


@pytest.mark.parametrize('use_cats', [False, True])
def test_reference_backend_equals_fast(use_cats):
    """``evaluate_boxes_reference`` (pycocotools, one run per ignore_split column) is a
    drop-in for ``evaluate_boxes``: the same arrays, curve and ``num_gt`` included."""
    gt, res = _random_case(40, n_img=40)
    g, d = _columns(gt, res)
    low = g.category_id <= 4
    g.ignore_split = np.stack([low, ~low, low], 1)
    kw = dict(max_dets=(1, 5, 30), use_cats=use_cats,
              exclude_split_from_budget=[True, True, False], compute_precision=True)
    args = ([i['id'] for i in gt['images']], range(1, 9))
    calls = []
    fast = evaluate_boxes(g, d, *args, **kw)
    ref = evaluate_boxes_reference(g, d, *args, progress=lambda *a: calls.append(a), **kw)
    assert calls == [(1, 3), (2, 3), (3, 3)]
    for a, b in zip(fast, ref):
        for field in ('recall', 'precision', 'curve', 'num_gt', 'iou_thrs', 'rec_thrs'):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
        assert (a.max_dets, a.cat_ids, a.area_labels) == (b.max_dets, b.cat_ids, b.area_labels)
    single = evaluate_boxes_reference(GroundTruth(g.image_id, g.category_id, g.bbox, g.area,
                                                  g.iscrowd), d, *args, max_dets=(10, ))
    np.testing.assert_array_equal(single.recall, evaluate_boxes(
        GroundTruth(g.image_id, g.category_id, g.bbox, g.area, g.iscrowd), d, *args,
        max_dets=(10, )).recall)


def test_stages_chunking_invariance():
    """Chunks of one group, of a few groups, and of all groups give the same arrays."""
    gt, res = _random_case(50, n_img=60)
    g, d = _columns(gt, res)
    g.ignore_split = np.stack([g.category_id <= 3, g.category_id > 3], 1)
    args = ([i['id'] for i in gt['images']], range(1, 9))
    kw = dict(max_dets=(1, 10, 100), exclude_split_from_budget=[True, False],
              compute_precision=True)
    runs = [evaluate_boxes(g, d, *args, max_chunk_elems=n, **kw) for n in (1, 5000, 1 << 30)]
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a.recall, b.recall)
            np.testing.assert_array_equal(a.precision, b.precision)
            np.testing.assert_array_equal(a.curve, b.curve)
