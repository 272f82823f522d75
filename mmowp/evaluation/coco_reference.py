"""The slow, trusted oracle: ``pycocotools.cocoeval.COCOeval`` plus OLN's budget rule.

Used by the parity tests and ``benchmarks/bench_metric.py`` to check
:mod:`mmowp.evaluation.fast_coco_eval`; not used by the metric itself.

:class:`CrossSplitCOCOeval` applies the rule of OLN's ``COCOEvalXclassWrapper``
(mcahny/object_localization_network, ``mmdet/datasets/cocoeval_wrappers.py``) on top of
the unmodified pycocotools matching: GT annotations carrying ``ignored_split=1`` are
ignored, and a detection that the first IoU threshold matched to such GT is removed from
the image's (already ``maxDets[-1]``-cut) list, so it does not count in the k budget.
"""
import contextlib
import copy
import io
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval


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
