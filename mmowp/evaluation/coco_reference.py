"""The slow, trusted oracle: ``pycocotools.cocoeval.COCOeval`` plus OLN's budget rule.

Used by the parity tests and ``benchmarks/bench_metric.py`` to check
:mod:`mmowp.evaluation.fast_coco_eval`, and by ``OpenWorldCocoMetric(backend='pycocotools')``
through :func:`evaluate_boxes_reference`, a drop-in for
:func:`~mmowp.evaluation.fast_coco_eval.evaluate_boxes` that runs pycocotools itself (slow:
minutes on COCO val; for checking a number, not for training loops).

:class:`CrossSplitCOCOeval` applies the rule of OLN's ``COCOEvalXclassWrapper``
(mcahny/object_localization_network, ``mmdet/datasets/cocoeval_wrappers.py``) on top of
the unmodified pycocotools matching: GT annotations carrying ``ignored_split=1`` are
ignored, and a detection that the first IoU threshold matched to such GT is removed from
the image's (already ``maxDets[-1]``-cut) list, so it does not count in the k budget.
"""
import contextlib
import copy
import io
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from .fast_coco_eval import (
    AREA_LABELS,
    AREA_RANGES,
    Detections,
    EvalResult,
    GroundTruth,
    default_iou_thrs,
)


class CrossSplitCOCOeval(COCOeval):
    """``COCOeval`` with OLN's cross-category evaluation.

    Args:
        exclude_split_from_budget (bool): Remove detections matched (at the first IoU
            threshold) to ``ignored_split`` GT from the image's list, as OLN does.
        Other arguments: as ``COCOeval``.
    """

    def __init__(self, cocoGt: COCO, cocoDt: COCO, iouType: str = 'bbox',
                 exclude_split_from_budget: bool = True) -> None:
        super().__init__(cocoGt, cocoDt, iouType)
        self.exclude_split_from_budget = exclude_split_from_budget

    def _prepare(self) -> None:
        super()._prepare()
        self._split_ignored = set()
        for gts in self._gts.values():
            for g in gts:
                if g.get('ignored_split', 0):
                    g['ignore'] = 1  # evaluateImg: _ignore = ignore or out of area range
                    self._split_ignored.add(g['id'])

    def evaluateImg(self, imgId: int, catId: int, aRng: list, maxDet: int):  # noqa: ANN201
        e = super().evaluateImg(imgId, catId, aRng, maxDet)
        if e is None or not self.exclude_split_from_budget:
            return e
        dtm = e['dtMatches']
        if dtm.shape[1] == 0:
            return e
        drop = np.array([m in self._split_ignored for m in dtm[0]], bool)
        if drop.any():
            keep = ~drop
            e['dtMatches'] = dtm[:, keep]
            e['dtIgnore'] = e['dtIgnore'][:, keep]
            e['dtIds'] = [d for d, k in zip(e['dtIds'], keep) if k]
            e['dtScores'] = [s for s, k in zip(e['dtScores'], keep) if k]
        return e


def make_coco(dataset: dict) -> COCO:
    """A ``COCO`` object from an in-memory dataset dict (deep-copied, quietly)."""
    coco = COCO()
    coco.dataset = copy.deepcopy(dataset)
    for ann in coco.dataset.get('annotations', []):
        ann.setdefault('iscrowd', 0)  # LVIS annotations have no iscrowd
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def reference_eval(gt_dataset: dict,
                   results: List[dict],
                   max_dets: Sequence[int] = (10, 100),
                   use_cats: bool = False,
                   cat_ids: Optional[Sequence[int]] = None,
                   img_ids: Optional[Sequence[int]] = None,
                   split_cat_ids: Iterable[int] = (),
                   exclude_split_from_budget: bool = True,
                   remove_cat_ids: Iterable[int] = (),
                   iou_thrs: Optional[Sequence[float]] = None,
                   area_ranges: Optional[Sequence[Tuple[float, float]]] = None,
                   area_labels: Optional[Sequence[str]] = None) -> COCOeval:
    """Run the pycocotools oracle and return the evaluator after ``accumulate()``.

    Args:
        gt_dataset (dict): COCO-format GT (not modified). Annotations may carry
            ``ignored_split`` themselves; ``split_cat_ids`` sets it by category.
        results (list[dict]): COCO results (``image_id``, ``category_id``, ``bbox``
            xywh, ``score``); not modified.
        max_dets (Sequence[int]): ``params.maxDets``.
        use_cats (bool): ``params.useCats``.
        cat_ids (Sequence[int], optional): ``params.catIds``; default all (sorted).
        img_ids (Sequence[int], optional): ``params.imgIds``; default all.
        split_cat_ids (Iterable[int]): Categories whose GT get ``ignored_split=1``.
        exclude_split_from_budget (bool): OLN's budget rule for those GT.
        remove_cat_ids (Iterable[int]): Categories whose GT are deleted before evaluation.
        iou_thrs (Sequence[float], optional): ``params.iouThrs``; default 0.50:0.95.
        area_ranges (Sequence[tuple], optional): ``params.areaRng``; default COCO's.
        area_labels (Sequence[str], optional): ``params.areaRngLbl``.
    """
    gt_dataset = copy.deepcopy(gt_dataset)
    split_cat_ids, remove_cat_ids = set(split_cat_ids), set(remove_cat_ids)
    gt_dataset['annotations'] = [a for a in gt_dataset.get('annotations', [])
                                 if a['category_id'] not in remove_cat_ids]
    for ann in gt_dataset['annotations']:
        ann['ignored_split'] = int(ann.get('ignored_split', 0)
                                   or ann['category_id'] in split_cat_ids)
    coco_gt = make_coco(gt_dataset)
    with contextlib.redirect_stdout(io.StringIO()):
        if results:
            coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        else:
            coco_dt = make_coco(dict(images=gt_dataset['images'], annotations=[],
                                     categories=gt_dataset['categories']))
        ev = CrossSplitCOCOeval(coco_gt, coco_dt, 'bbox', exclude_split_from_budget)
        if cat_ids is not None:
            ev.params.catIds = list(cat_ids)
        if img_ids is not None:
            ev.params.imgIds = list(img_ids)
        ev.params.maxDets = list(max_dets)
        ev.params.useCats = int(use_cats)
        if iou_thrs is not None:
            ev.params.iouThrs = np.atleast_1d(np.asarray(iou_thrs, np.float64))
        if area_ranges is not None:
            ev.params.areaRng = [list(r) for r in area_ranges]
            ev.params.areaRngLbl = list(area_labels or range(len(area_ranges)))
        ev.evaluate()
        ev.accumulate()
    return ev


def to_coco_dicts(gt: GroundTruth, dt: Detections, img_ids: Sequence[int],
                  cat_ids: Sequence[int]) -> Tuple[dict, List[dict]]:
    """A COCO-format GT dataset and a results list from column arrays.

    Annotation ``i`` (row ``i`` of ``gt``) gets id ``i + 1``; ``images`` and
    ``categories`` hold every id that occurs in ``img_ids`` / ``cat_ids``, the GT or the
    detections (``COCO.loadRes`` rejects results on unknown images). Without
    ``gt.ignore_split`` no annotation carries ``ignored_split``; a 1-D one is copied in.
    """
    split = None if gt.ignore_split is None else np.asarray(gt.ignore_split).astype(bool)
    if split is not None and split.ndim != 1:
        raise ValueError('to_coco_dicts: one ignore_split column at a time')
    images = sorted({int(i) for i in img_ids} | set(np.asarray(gt.image_id).tolist())
                    | set(np.asarray(dt.image_id).tolist()))
    cats = sorted({int(c) for c in cat_ids} | set(np.asarray(gt.category_id).tolist())
                  | set(np.asarray(dt.category_id).tolist()))
    anns = []
    for i in range(len(gt)):
        ann = dict(id=i + 1, image_id=int(gt.image_id[i]), category_id=int(gt.category_id[i]),
                   bbox=[float(v) for v in gt.bbox[i]], area=float(gt.area[i]),
                   iscrowd=int(bool(gt.iscrowd[i])))
        if split is not None:
            ann['ignored_split'] = int(split[i])
        anns.append(ann)
    results = [dict(image_id=int(dt.image_id[i]), category_id=int(dt.category_id[i]),
                    bbox=[float(v) for v in dt.bbox[i]], score=float(dt.score[i]))
               for i in range(len(dt))]
    return dict(images=[dict(id=i) for i in images], annotations=anns,
                categories=[dict(id=c, name=str(c)) for c in cats]), results


def evaluate_boxes_reference(gt: GroundTruth,
                             dt: Detections,
                             img_ids: Sequence[int],
                             cat_ids: Sequence[int],
                             max_dets: Sequence[int] = (100, ),
                             use_cats: bool = False,
                             iou_thrs: Optional[Sequence[float]] = None,
                             area_ranges: Sequence[Tuple[float, float]] = AREA_RANGES,
                             area_labels: Sequence[str] = AREA_LABELS,
                             exclude_split_from_budget: Union[bool, Sequence[bool]] = False,
                             compute_precision: bool = False,
                             max_chunk_elems: int = 0,
                             progress: Optional[Callable[[int, int], None]] = None
                             ) -> Union[EvalResult, List[EvalResult]]:
    """:func:`~mmowp.evaluation.fast_coco_eval.evaluate_boxes` computed by pycocotools.

    Same arguments and results. Each ``gt.ignore_split`` column is one
    :class:`CrossSplitCOCOeval` run with ``params.maxDets = 1..max(max_dets)`` (the image
    lists are cut at ``max(max_dets)`` either way), so its ``accumulate()`` gives the
    AR-vs-k curve at every k; ``recall`` and ``precision`` are read from it at
    ``max_dets``, ``num_gt`` is counted from ``evalImgs``' ``gtIgnore``. ``precision`` is
    always computed; ``max_chunk_elems`` is ignored; ``progress`` is called once per column.
    """
    max_dets = tuple(sorted(int(m) for m in max_dets))
    if not max_dets or max_dets[0] < 1:
        raise ValueError(f'max_dets must be positive integers, got {max_dets}')
    iou_thrs = default_iou_thrs() if iou_thrs is None else np.atleast_1d(
        np.asarray(iou_thrs, np.float64))
    split = np.zeros((len(gt), 1), bool) if gt.ignore_split is None else \
        np.asarray(gt.ignore_split).astype(bool).reshape(len(gt), -1)
    multi = gt.ignore_split is not None and np.asarray(gt.ignore_split).ndim == 2
    flags = np.asarray(exclude_split_from_budget, bool).reshape(-1)
    if len(flags) not in (1, split.shape[1]):
        raise ValueError(f'exclude_split_from_budget has {len(flags)} flags for '
                         f'{split.shape[1]} ignore_split columns')
    flags = np.broadcast_to(flags, (split.shape[1], ))
    out = []
    for s in range(split.shape[1]):
        column = GroundTruth(gt.image_id, gt.category_id, gt.bbox, gt.area, gt.iscrowd,
                             split[:, s])
        gt_dataset, results = to_coco_dicts(column, dt, img_ids, cat_ids)
        ev = reference_eval(gt_dataset, results, max_dets=range(1, max_dets[-1] + 1),
                            use_cats=use_cats, cat_ids=cat_ids, img_ids=img_ids,
                            exclude_split_from_budget=bool(flags[s]), iou_thrs=iou_thrs,
                            area_ranges=area_ranges, area_labels=area_labels)
        at = [m - 1 for m in max_dets]
        out.append(EvalResult(
            recall=ev.eval['recall'][..., at], precision=ev.eval['precision'][..., at],
            curve=ev.eval['recall'], num_gt=_num_gt(ev), iou_thrs=iou_thrs,
            rec_thrs=ev.params.recThrs, max_dets=max_dets,
            cat_ids=tuple(int(c) for c in ev.params.catIds) if use_cats else
            tuple(int(c) for c in cat_ids), area_labels=tuple(area_labels)))
        if progress is not None:
            progress(s + 1, split.shape[1])
    return out if multi else out[0]


def _num_gt(ev: COCOeval) -> np.ndarray:
    """``[K, A]`` non-ignored GT, counted from ``evalImgs`` (``gtIgnore == 0``)."""
    p = ev._paramsEval
    n_cat = len(p.catIds) if p.useCats else 1
    n_area, n_img = len(p.areaRng), len(p.imgIds)
    num_gt = np.zeros((n_cat, n_area), np.int64)
    for k in range(n_cat):
        for a in range(n_area):
            for e in ev.evalImgs[(k * n_area + a) * n_img:(k * n_area + a + 1) * n_img]:
                if e is not None:
                    num_gt[k, a] += int(np.count_nonzero(np.asarray(e['gtIgnore']) == 0))
    return num_gt
