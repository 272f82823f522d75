"""Vectorised re-implementation of ``pycocotools.cocoeval.COCOeval`` for boxes.

:func:`evaluate_boxes` returns the same ``recall`` (``[T, K, A, M]``) and ``precision``
(``[T, R, K, A, M]``) arrays as ``COCOeval.evaluate(); COCOeval.accumulate()`` for
``iouType='bbox'``, bit for bit on the same inputs, including pycocotools' tie-breaking:

* detections of an evaluation group (an image, or an (image, category) pair when
  ``use_cats``) are ordered by score with a stable sort of their input order (for
  ``use_cats=False`` the input order is "by position of the category in ``cat_ids``, then
  by input index", as ``COCOeval.computeIoU`` concatenates them), and only the first
  ``max(max_dets)`` are matched;
* the greedy matching of ``COCOeval.evaluateImg``: a detection takes the unmatched
  non-ignored GT of highest IoU >= t (the *last* one among equal IoUs); only if there is
  none, the ignored GT of highest IoU (crowd GT can be matched many times); unmatched
  detections outside the area range are ignored;
* IoU exactly as pycocotools' ``bbIou`` (crowd GT: intersection over detection area).

It adds OLN's cross-category rule (``COCOEvalXclassWrapper`` in
mcahny/object_localization_network ``mmdet/datasets/cocoeval_wrappers.py``): GT flagged
``ignore_split`` is ignored, and with ``exclude_split_from_budget=True`` a detection matched
at the first IoU threshold (0.5) to such GT is removed from its image's list *after* the
list was cut to the top ``max(max_dets)`` by score. AR@k then reads the first k entries of
what remains. So the removed detections free slots only for detections that were already
in the top ``max(max_dets)``: at ``k = max(max_dets)`` the same boxes are considered and a
hit on ignored GT still took one of the slots; at smaller k lower-ranked boxes of that pool
move up. A removed detection is no true positive at any IoU threshold.

Without the rule (``exclude_split_from_budget=False``) an ``ignore_split`` GT is a plain
ignore region; for *recall* this equals deleting that GT (a detection takes non-ignored GT
first, so which non-ignored GT are matched, and at which list positions, does not depend
on the ignored ones), which is how the "removed" protocol of FCOS-OWP §5 is evaluated in
one pass with OLN's (the parity tests check both against pycocotools, the removed one on
GT with those annotations deleted). Precision differs: there a hit on deleted GT is a
false positive.

Why it is fast: instead of Python loops over images x thresholds x detections x GT, the
greedy matching runs one step per detection *rank*, vectorised over a chunk of images (or
groups), all IoU thresholds and all area ranges at once. Memory is bounded by the chunk
(``max_chunk_elems``), never images x detections x GT. In recall-only mode
(``compute_precision=False``) nothing per detection is kept: true positives are counted
in a histogram over the position in the (budget-filtered) list, which also gives the
AR-vs-number-of-proposals curve for every k up to ``max(max_dets)``.

The stages of :func:`evaluate_boxes`, each a function below: :func:`_make_setup` (the
parameters; every (ignore_split column, area range) pair is one *column*),
:func:`_prepare_gt` (filter, group, order, ignore flags, ``num_gt``),
:func:`_prepare_detections` (filter, group, rank by score, cut to ``max(max_dets)``),
:func:`_index_groups` and :func:`_chunks` (which groups are matched together),
:func:`_match_chunk` (per rank: :func:`_candidates`, :func:`_pick_gt`, OLN's rule in
:func:`_match_rank`; :class:`_Tally` counts the true positives), and
:func:`_recall_and_curve` / :func:`_precision` (``COCOeval.accumulate``).
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

#: COCO area ranges (``COCOeval.Params.setDetParams``) and their labels.
AREA_RANGES: Tuple[Tuple[float, float], ...] = (
    (0.0, 1e5**2), (0.0, 32.0**2), (32.0**2, 96.0**2), (96.0**2, 1e5**2))
AREA_LABELS: Tuple[str, ...] = ('all', 'small', 'medium', 'large')


def default_iou_thrs() -> np.ndarray:
    """IoU thresholds 0.50:0.05:0.95, built exactly as pycocotools does."""
    return np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)


def default_rec_thrs() -> np.ndarray:
    """Recall thresholds 0:0.01:1, built exactly as pycocotools does."""
    return np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)


@dataclass
class GroundTruth:
    """Column arrays of ground-truth boxes (one row per annotation, in file order).

    Args:
        image_id (np.ndarray): ``(N,)`` int image ids.
        category_id (np.ndarray): ``(N,)`` int category ids.
        bbox (np.ndarray): ``(N, 4)`` float64 boxes ``[x, y, w, h]``.
        area (np.ndarray): ``(N,)`` float64 annotation areas (used for area ranges).
        iscrowd (np.ndarray): ``(N,)`` bool crowd flags (crowd GT is an ignore region).
        ignore_split (np.ndarray, optional): ``(N,)`` bool, OLN's ``ignored_split``: GT of
            the split that is not evaluated. Defaults to all False. ``(N, S)``: S
            evaluations in one pass (shared sorting, IoU and candidate search), one
            :class:`EvalResult` each.
    """
    image_id: np.ndarray
    category_id: np.ndarray
    bbox: np.ndarray
    area: np.ndarray
    iscrowd: np.ndarray
    ignore_split: Optional[np.ndarray] = None

    def __len__(self) -> int:
        return len(self.image_id)


@dataclass
class Detections:
    """Column arrays of detections (one row per box, in result-list order).

    Args:
        image_id (np.ndarray): ``(N,)`` int image ids.
        category_id (np.ndarray): ``(N,)`` int category ids.
        bbox (np.ndarray): ``(N, 4)`` float64 boxes ``[x, y, w, h]``; the area used for
            area ranges is ``w * h`` as in ``COCO.loadRes``.
        score (np.ndarray): ``(N,)`` float64 scores.
    """
    image_id: np.ndarray
    category_id: np.ndarray
    bbox: np.ndarray
    score: np.ndarray

    def __len__(self) -> int:
        return len(self.image_id)


@dataclass
class EvalResult:
    """Output of :func:`evaluate_boxes`.

    Attributes:
        recall (np.ndarray): ``[T, K, A, M]``, -1 where there is no non-ignored GT.
        precision (np.ndarray | None): ``[T, R, K, A, M]`` (``compute_precision=True``).
        curve (np.ndarray): ``[T, K, A, P]`` recall with a budget of ``1..P`` detections
            per image (``P = max(max_dets)``), -1 where there is no non-ignored GT.
        num_gt (np.ndarray): ``[K, A]`` number of non-ignored GT.
        iou_thrs, rec_thrs, max_dets, cat_ids, area_labels: the parameters used.
    """
    recall: np.ndarray
    precision: Optional[np.ndarray]
    curve: np.ndarray
    num_gt: np.ndarray
    iou_thrs: np.ndarray
    rec_thrs: np.ndarray
    max_dets: Tuple[int, ...]
    cat_ids: Tuple[int, ...]
    area_labels: Tuple[str, ...]

    def average(self, kind: str = 'recall', iou: Optional[float] = None, area: str = 'all',
                max_det: Optional[int] = None) -> float:
        """Mean over the valid (> -1) entries, as ``COCOeval.summarize`` computes it.

        Values are looked up by the IoU threshold, area label and ``max_det`` asked for,
        never by position in a ``stats`` vector.

        Args:
            kind (str): ``'recall'`` (AR) or ``'precision'`` (AP).
            iou (float, optional): A single IoU threshold; None averages over all.
            area (str): One of :attr:`area_labels`.
            max_det (int, optional): Detections per image; None takes the largest.

        Returns:
            float: The average, or -1 when nothing is valid (as pycocotools).
        """
        max_det = self.max_dets[-1] if max_det is None else int(max_det)
        if max_det not in self.max_dets:
            raise KeyError(f'max_det={max_det} was not evaluated; evaluated: {self.max_dets}')
        if area not in self.area_labels:
            raise KeyError(f'area {area!r} unknown; known: {self.area_labels}')
        a = self.area_labels.index(area)
        m = self.max_dets.index(max_det)
        if kind == 'recall':
            s = self.recall[:, :, a, m]
        elif kind == 'precision':
            if self.precision is None:
                raise ValueError('precision was not computed (compute_precision=False)')
            s = self.precision[:, :, :, a, m]
        else:
            raise ValueError(f"kind must be 'recall' or 'precision', got {kind!r}")
        if iou is not None:
            t = np.where(np.isclose(self.iou_thrs, iou))[0]
            if len(t) == 0:
                raise KeyError(f'IoU {iou} was not evaluated; evaluated: {self.iou_thrs}')
            s = s[t]
        return _mean_valid(s)

    def curve_average(self, area: str = 'all') -> np.ndarray:
        """AR (mean over IoU thresholds, class-agnostic K=1 or mean over valid K) for
        every budget ``1..P``; -1 where no GT.

        Each value is computed as :meth:`average` computes AR (the same values summed in
        the same order), so the curve at ``k`` equals ``average('recall', max_det=k)``
        bit for bit.
        """
        a = self.area_labels.index(area)
        c = self.curve[:, :, a, :]  # T, K, P
        return np.array([_mean_valid(c[..., p]) for p in range(c.shape[-1])], np.float64)


def _mean_valid(values: np.ndarray) -> float:
    """Mean of the entries > -1, as ``COCOeval.summarize``; -1 when there is none."""
    valid = values[values > -1]
    return float(np.mean(valid)) if valid.size else -1.0


def box_iou_coco(det: np.ndarray, gt: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """IoU of one detection per row against that row's GT, as pycocotools ``bbIou``.

    Args:
        det (np.ndarray): ``(B, 4)`` xywh.
        gt (np.ndarray): ``(B, G, 4)`` xywh.
        crowd (np.ndarray): ``(B, G)`` bool; crowd GT use the detection area as union.

    Returns:
        np.ndarray: ``(B, G)`` float64 IoU.
    """
    dx, dy, dw, dh = (det[:, i:i + 1] for i in range(4))
    gx, gy, gw, gh = (gt[..., i] for i in range(4))
    w = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    h = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    inter = w * h
    da = dw * dh
    union = np.where(crowd, da, da + gw * gh - inter)
    ok = (w > 0) & (h > 0)
    out = np.zeros(inter.shape, dtype=np.float64)
    np.divide(inter, union, out=out, where=ok)
    return out


def _index_in(values: np.ndarray, order: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Position of each value in ``order`` and a mask of the values found there."""
    order = np.asarray(order)
    if len(order) == 0:
        return np.zeros(len(values), np.int64), np.zeros(len(values), bool)
    sorter = np.argsort(order, kind='stable')
    pos = np.searchsorted(order, values, sorter=sorter)
    pos = np.clip(pos, 0, len(order) - 1)
    idx = sorter[pos]
    found = order[idx] == values
    return idx.astype(np.int64), found


# ---- stage 0: parameters -------------------------------------------------------------------
@dataclass
class _Setup:
    """Normalised parameters of one :func:`evaluate_boxes` call.

    A *column* is one (split, area range) pair, split-major: the ``S`` columns of
    ``gt.ignore_split`` are evaluated in one pass as ``S * len(area_ranges)`` area ranges.
    A *group* is what ``COCOeval.evaluateImg`` evaluates at once: an image, or an
    (image, category) pair when ``use_cats``.
    """
    iou_thrs: np.ndarray  # (T,) as asked for (reported)
    match_thrs: np.ndarray  # (T,) capped at 1 - 1e-10, as evaluateImg matches
    rec_thrs: np.ndarray  # (R,)
    max_dets: Tuple[int, ...]  # ascending
    img_ids: np.ndarray  # ascending unique; an image's index is its position here
    cat_ids: np.ndarray  # params.catIds (ascending unique when use_cats)
    use_cats: bool
    n_splits: int  # S
    n_areas: int  # area ranges per split
    col_area_lo: np.ndarray  # (A,) lower area bound of each column
    col_area_hi: np.ndarray  # (A,) upper area bound of each column
    col_oln_rule: np.ndarray  # (A,) bool: OLN's budget rule applies in this column

    min_thr: float = field(init=False)  # min(match_thrs): below it no GT can be matched
    any_oln_rule: bool = field(init=False)
    col_index: np.ndarray = field(init=False)  # (1, A) arange

    def __post_init__(self) -> None:
        self.min_thr = float(self.match_thrs.min())
        self.any_oln_rule = bool(self.col_oln_rule.any())
        self.col_index = np.arange(len(self.col_area_lo))[None]

    @property
    def n_cols(self) -> int:
        return len(self.col_area_lo)

    @property
    def n_cats(self) -> int:
        """K: categories evaluated separately (1 with ``use_cats=False``)."""
        return len(self.cat_ids) if self.use_cats else 1

    @property
    def budget(self) -> int:
        """P: detections kept per group, ``max(max_dets)``."""
        return self.max_dets[-1]

    def group_of(self, cat_index: np.ndarray, img_index: np.ndarray) -> np.ndarray:
        """Group index; groups of one category are consecutive and in image order."""
        return cat_index * len(self.img_ids) + img_index if self.use_cats else img_index

    def outside_area(self, area: np.ndarray) -> np.ndarray:
        """``(N, A)`` bool: ``area`` outside the range of each column."""
        return (area[:, None] < self.col_area_lo[None]) | (area[:, None] > self.col_area_hi[None])


def _make_setup(img_ids: Sequence[int], cat_ids: Sequence[int], max_dets: Sequence[int],
                use_cats: bool, iou_thrs: Optional[Sequence[float]],
                area_ranges: Sequence[Tuple[float, float]], n_splits: int,
                exclude_split_from_budget: Union[bool, Sequence[bool]]) -> _Setup:
    iou_thrs = default_iou_thrs() if iou_thrs is None else np.atleast_1d(
        np.asarray(iou_thrs, np.float64))
    max_dets = tuple(sorted(int(m) for m in max_dets))
    if not max_dets or max_dets[0] < 1:
        raise ValueError(f'max_dets must be positive integers, got {max_dets}')
    cat_ids = np.asarray(cat_ids, dtype=np.int64)
    oln_rule = np.asarray(exclude_split_from_budget, bool).reshape(-1)
    if len(oln_rule) not in (1, n_splits):
        raise ValueError(f'exclude_split_from_budget has {len(oln_rule)} flags for {n_splits} '
                         'ignore_split columns')
    n_areas = len(area_ranges)
    return _Setup(
        iou_thrs=iou_thrs, match_thrs=np.minimum(iou_thrs, 1 - 1e-10),
        rec_thrs=default_rec_thrs(), max_dets=max_dets,
        img_ids=np.unique(np.asarray(img_ids, dtype=np.int64)),
        cat_ids=np.unique(cat_ids) if use_cats else cat_ids, use_cats=use_cats,
        n_splits=n_splits, n_areas=n_areas,
        col_area_lo=np.tile(np.array([r[0] for r in area_ranges], np.float64), n_splits),
        col_area_hi=np.tile(np.array([r[1] for r in area_ranges], np.float64), n_splits),
        col_oln_rule=np.repeat(np.broadcast_to(oln_rule, (n_splits, )), n_areas))


def _split_columns(gt: GroundTruth) -> Tuple[np.ndarray, bool]:
    """``gt.ignore_split`` as ``(N, S)`` bool, and whether it was 2-D (one result per S)."""
    if gt.ignore_split is None:
        return np.zeros((len(gt), 1), bool), False
    split = np.asarray(gt.ignore_split).astype(bool)
    return split.reshape(len(gt), -1), split.ndim == 2


# ---- stage 1: ground truth -----------------------------------------------------------------
@dataclass
class _GroupedGT:
    """The evaluated GT, sorted by group; within a group in the order pycocotools has
    them (file order; with ``use_cats=False`` category by category, in ``cat_ids`` order)."""
    group: np.ndarray  # (N,) ascending group index
    box: np.ndarray  # (N, 4) xywh
    crowd: np.ndarray  # (N,) bool
    other_split: np.ndarray  # (N, A) bool: flagged by ignore_split of the column's split
    ignored: np.ndarray  # (N, A) bool: crowd, outside the column's area range, or other_split
    num_gt: np.ndarray  # (K, A) non-ignored GT per category index and column


def _prepare_gt(gt: GroundTruth, split: np.ndarray, setup: _Setup) -> _GroupedGT:
    """Drop GT outside ``img_ids`` / ``cat_ids``, group and order it, flag what is ignored."""
    img_index, in_imgs = _index_in(np.asarray(gt.image_id, np.int64), setup.img_ids)
    cat_index, in_cats = _index_in(np.asarray(gt.category_id, np.int64), setup.cat_ids)
    keep = in_imgs & in_cats
    img_index, cat_index = img_index[keep], cat_index[keep]
    group = setup.group_of(cat_index, img_index)
    # both sorts are stable: GT of equal keys keep the file order
    order = np.argsort(group, kind='stable') if setup.use_cats else \
        np.lexsort((cat_index, group))
    box = np.asarray(gt.bbox, np.float64).reshape(-1, 4)[keep][order]
    area = np.asarray(gt.area, np.float64)[keep][order]
    crowd = np.asarray(gt.iscrowd).astype(bool)[keep][order]
    other_split = np.repeat(split[keep][order], setup.n_areas, axis=1)
    ignored = setup.outside_area(area) | crowd[:, None] | other_split
    cat_of_gt = cat_index[order] if setup.use_cats else np.zeros(len(order), np.int64)
    num_gt = np.zeros((setup.n_cats, setup.n_cols), np.int64)
    for col in range(setup.n_cols):
        num_gt[:, col] = np.bincount(cat_of_gt[~ignored[:, col]], minlength=setup.n_cats)
    return _GroupedGT(group[order], box, crowd, other_split, ignored, num_gt)


# ---- stage 2: detections -------------------------------------------------------------------
@dataclass
class _RankedDetections:
    """The evaluated detections, sorted by group, each group by descending score (ties:
    pycocotools' order) and cut to its first ``budget``."""
    group: np.ndarray  # (D,) ascending group index
    box: np.ndarray  # (D, 4) xywh
    score: np.ndarray  # (D,)
    outside_area: np.ndarray  # (D, A) bool: box area (w * h) outside the column's range


def _prepare_detections(dt: Detections, setup: _Setup) -> _RankedDetections:
    """Drop detections outside ``img_ids`` / ``cat_ids``, rank them in their group, cut."""
    img_index, in_imgs = _index_in(np.asarray(dt.image_id, np.int64), setup.img_ids)
    cat_index, in_cats = _index_in(np.asarray(dt.category_id, np.int64), setup.cat_ids)
    keep = in_imgs & in_cats
    cat_index = cat_index[keep]
    group = setup.group_of(cat_index, img_index[keep])
    box = np.asarray(dt.bbox, np.float64).reshape(-1, 4)[keep]
    score = np.asarray(dt.score, np.float64)[keep]
    # stable, as pycocotools' mergesort: equal scores keep the result order; with
    # use_cats=False COCOeval.computeIoU first concatenates a group category by category
    order = np.lexsort((-score, group)) if setup.use_cats else \
        np.lexsort((cat_index, -score, group))
    group, box, score = group[order], box[order], score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(group)) + 1] if len(group) else np.zeros(0, int)
    rank_in_group = np.arange(len(group)) - np.repeat(starts, np.diff(np.r_[starts, len(group)]))
    top = rank_in_group < setup.budget
    group, box, score = group[top], box[top], score[top]
    return _RankedDetections(group, box, score, setup.outside_area(box[:, 2] * box[:, 3]))


# ---- stage 3: groups and chunks ------------------------------------------------------------
@dataclass
class _Groups:
    """The groups that have detections (a group without any adds only to ``num_gt``)."""
    det_start: np.ndarray  # (B,) first detection of the group in _RankedDetections
    det_count: np.ndarray  # (B,)
    gt_start: np.ndarray  # (B,) first GT of the group in _GroupedGT
    gt_count: np.ndarray  # (B,)
    cat: np.ndarray  # (B,) category index (0 with use_cats=False)
    by_size: np.ndarray  # (B,) group order, most detections first (stable)


def _index_groups(gts: _GroupedGT, dets: _RankedDetections, setup: _Setup) -> _Groups:
    ids, det_start, det_count = np.unique(dets.group, return_index=True, return_counts=True)
    gt_start = np.searchsorted(gts.group, ids, side='left')
    gt_count = np.searchsorted(gts.group, ids, side='right') - gt_start
    cat = ids // len(setup.img_ids) if setup.use_cats else np.zeros(len(ids), np.int64)
    return _Groups(det_start, det_count, gt_start, gt_count, cat,
                   np.argsort(-det_count, kind='stable'))


def _chunks(groups: _Groups, elems_per_gt: int,
            max_elems: int) -> Iterator[Tuple[np.ndarray, int]]:
    """Consecutive runs of ``groups.by_size`` whose ``groups x most GT x elems_per_gt`` stay
    within ``max_elems`` (at least one group each): ``(group indices, most GT)``."""
    done, n_groups = 0, len(groups.by_size)
    while done < n_groups:
        most_gt, stop = 1, done
        while stop < n_groups:
            g = max(most_gt, int(groups.gt_count[groups.by_size[stop]]))
            if stop > done and (stop - done + 1) * g * elems_per_gt > max_elems:
                break
            most_gt, stop = g, stop + 1
        yield groups.by_size[done:stop], most_gt
        done = stop


@dataclass
class _ChunkGT:
    """GT of a chunk of groups, one row per group, padded to the most GT of a row."""
    crowd: np.ndarray  # (B, G) bool (padding False)
    ignored: np.ndarray  # (B, G, A) bool
    other_split: np.ndarray  # (B, G, A) bool
    taken: np.ndarray  # (B, G, T, A) bool: matched at (thr, column); crowd GT never is
    pair_row: np.ndarray  # (n,) the real (row, GT) pairs, row-major ...
    pair_gt: np.ndarray  # (n,) ... (the GT's column in its row)
    pair_end: np.ndarray  # (B + 1,) the pairs of rows < b are the first pair_end[b]
    pair_box: np.ndarray  # (n, 4) xywh
    pair_crowd: np.ndarray  # (n,) bool


def _chunk_gt(gts: _GroupedGT, groups: _Groups, chunk: np.ndarray, most_gt: int,
              setup: _Setup) -> _ChunkGT:
    n_rows, n_cols = len(chunk), setup.n_cols
    slot = np.arange(most_gt)[None]
    real = slot < groups.gt_count[chunk, None]  # B, G
    gt_idx = np.where(real, groups.gt_start[chunk, None] + slot, 0)
    if len(gts.group):
        crowd = gts.crowd[gt_idx] & real
        ignored = gts.ignored[gt_idx] & real[..., None]
        other_split = gts.other_split[gt_idx] & real[..., None]
    else:  # no GT at all: every row is padding
        crowd = np.zeros((n_rows, most_gt), bool)
        ignored = other_split = np.zeros((n_rows, most_gt, n_cols), bool)
    pair_row, pair_gt = np.nonzero(real)
    pair_idx = gt_idx[pair_row, pair_gt]
    return _ChunkGT(crowd, ignored, other_split,
                    np.zeros((n_rows, most_gt, len(setup.iou_thrs), n_cols), bool),
                    pair_row, pair_gt,
                    np.searchsorted(pair_row, np.arange(n_rows + 1), side='left'),
                    gts.box[pair_idx], gts.crowd[pair_idx])


# ---- stage 4: match a chunk ----------------------------------------------------------------
@dataclass
class _RankMatch:
    """How the detections of one rank matched, for the rows that had a candidate GT."""
    rows: np.ndarray  # (r,) chunk rows whose detection has IoU >= min(thr) with some GT
    matched: np.ndarray  # (r, T, A) bool: matched some GT
    matched_regular: np.ndarray  # (r, T, A) bool: matched a non-ignored GT
    true_pos: np.ndarray  # (r, T, A) bool: matched_regular and not excluded
    excluded: Optional[np.ndarray]  # (r, A) bool: left the list by OLN's rule (None: no rule)


def _candidates(chunk: _ChunkGT, det_box: np.ndarray, n_active: int,
                min_thr: float) -> Optional[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The GT each active row's detection overlaps with IoU >= ``min_thr`` (mostly 1-2):
    ``rows (r,)``, ``cand_gt (r, C)`` GT columns in GT order, ``cand_iou (r, C)`` (padding
    -1); None when there is none."""
    n_pairs = chunk.pair_end[n_active]
    pair_row = chunk.pair_row[:n_pairs]
    iou = box_iou_coco(det_box[pair_row], chunk.pair_box[:n_pairs, None],
                       chunk.pair_crowd[:n_pairs, None])[:, 0]
    hit = np.flatnonzero(iou >= min_thr)
    if not len(hit):
        return None
    rows, first, n_cand = np.unique(pair_row[hit], return_index=True, return_counts=True)
    slot = np.arange(len(hit)) - np.repeat(first, n_cand)
    row_of_hit = np.repeat(np.arange(len(rows)), n_cand)
    cand_gt = np.zeros((len(rows), int(n_cand.max())), np.int64)
    cand_gt[row_of_hit, slot] = chunk.pair_gt[hit]
    cand_iou = np.full(cand_gt.shape, -1.0)
    cand_iou[row_of_hit, slot] = iou[hit]
    return rows, cand_gt, cand_iou


def _pick_gt(chunk: _ChunkGT, rows: np.ndarray, cand_gt: np.ndarray, cand_iou: np.ndarray,
             match_thrs: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``COCOeval.evaluateImg``'s choice for every (row, thr, column): among the GT not
    taken with IoU >= thr, the non-ignored one of highest IoU (the *last* in GT order among
    equal IoUs), else the ignored one of highest IoU. Returns ``gt (r, T, A)`` (the GT
    column; meaningless where not matched), ``matched`` and ``matched_regular``."""
    n_rows, n_cand = cand_gt.shape
    # rank the candidates by (IoU, GT order) and prefer non-ignored ones by an offset of C
    iou_rank = np.empty(cand_gt.shape, np.int64)
    np.put_along_axis(iou_rank, np.argsort(cand_iou, axis=1, kind='stable'),
                      np.arange(n_cand)[None], axis=1)
    row_idx = rows[:, None]
    free = (cand_iou[:, :, None] >= match_thrs[None, None, :])[..., None] & \
        ~chunk.taken[row_idx, cand_gt]  # r, C, T, A (padding has IoU -1: never free)
    preference = iou_rank[:, :, None] + np.where(chunk.ignored[row_idx, cand_gt], 0, n_cand)
    key = np.where(free, preference[:, :, None, :], -1)  # r, C, T, A
    best_key = key.max(axis=1)  # r, T, A
    gt = cand_gt[np.arange(n_rows)[:, None, None], np.argmax(key, axis=1)]
    return gt, best_key >= 0, best_key >= n_cand


def _match_rank(chunk: _ChunkGT, det_box: np.ndarray, n_active: int,
                setup: _Setup) -> Optional[_RankMatch]:
    """Match the detection of one rank in each of the first ``n_active`` rows, mark the
    GT it takes, apply OLN's rule. None when no detection overlaps any GT enough."""
    cand = _candidates(chunk, det_box, n_active, setup.min_thr)
    if cand is None:
        return None
    rows, cand_gt, cand_iou = cand
    gt, matched, matched_regular = _pick_gt(chunk, rows, cand_gt, cand_iou, setup.match_thrs)
    # the GT is taken at that (thr, column); crowd GT can be matched again
    ri, ti, ci = np.nonzero(matched & ~chunk.crowd[rows[:, None, None], gt])
    chunk.taken[rows[ri], gt[ri, ti, ci], ti, ci] = True
    if not setup.any_oln_rule:
        return _RankMatch(rows, matched, matched_regular, matched_regular, None)
    # OLN: matched at the first threshold to GT of the other split -> leaves the list
    excluded = matched[:, 0, :] & setup.col_oln_rule[None] & \
        chunk.other_split[rows[:, None], gt[:, 0, :], setup.col_index]
    return _RankMatch(rows, matched, matched_regular,
                      matched_regular & ~excluded[:, None, :], excluded)


class _Tally:
    """What the matching keeps: true positives counted by (category index, thr, column,
    position in the budget list); per detection only with ``compute_precision``."""

    def __init__(self, setup: _Setup, n_dets: int, compute_precision: bool) -> None:
        self.shape = (setup.n_cats, len(setup.iou_thrs), setup.n_cols, setup.budget)
        self.tp_count = np.zeros(int(np.prod(self.shape)), np.int64)  # K * T * A * P
        self._pending: List[np.ndarray] = []
        self.det_tp = self.det_ignored = self.det_position = None
        if compute_precision:
            self.det_tp = np.zeros((n_dets, ) + self.shape[1:3], bool)  # D, T, A
            self.det_ignored = np.zeros((n_dets, ) + self.shape[1:3], bool)  # D, T, A
            # D, A: position in the column's budget list; -1: excluded by OLN's rule
            self.det_position = np.zeros((n_dets, setup.n_cols), np.int64)

    def add(self, det_idx: np.ndarray, cat: np.ndarray, position: np.ndarray,
            match: Optional[_RankMatch], dets: _RankedDetections) -> None:
        """One rank: the detections ``det_idx`` of the active rows (category index ``cat``
        and budget-list ``position (n, A)`` per row) and how they matched."""
        _, n_thrs, n_cols, budget = self.shape
        if match is not None:
            ri, ti, ci = np.nonzero(match.true_pos)
            rows = match.rows[ri]
            self._pending.append(((cat[rows] * n_thrs + ti) * n_cols + ci) * budget
                                 + position[rows, ci])
        if self.det_tp is None:
            return
        # unmatched detections are ignored where they lie outside the area range
        outside_area = dets.outside_area[det_idx]
        self.det_tp[det_idx] = False
        self.det_ignored[det_idx] = outside_area[:, None, :]
        self.det_position[det_idx] = position
        if match is not None:
            d = det_idx[match.rows]
            self.det_tp[d] = match.true_pos
            self.det_ignored[d] = (match.matched & ~match.matched_regular) | \
                (~match.matched & outside_area[match.rows][:, None, :])
            if match.excluded is not None:
                self.det_position[d] = np.where(match.excluded, -1, position[match.rows])

    def flush(self) -> None:
        if self._pending:
            self.tp_count += np.bincount(np.concatenate(self._pending),
                                         minlength=self.tp_count.size)
            self._pending = []


def _match_chunk(chunk: _ChunkGT, rows_group: np.ndarray, groups: _Groups,
                 dets: _RankedDetections, setup: _Setup, tally: _Tally) -> None:
    """Greedy matching of a chunk, one detection rank at a time over all its rows (rows
    are in descending detection count: the rows still active are a prefix)."""
    det_count = groups.det_count[rows_group]
    cat_of_row = groups.cat[rows_group]
    list_len = np.zeros((len(rows_group), setup.n_cols), np.int64)  # budget list so far
    for rank in range(int(det_count[0])):
        n_active = int(np.searchsorted(-det_count, -rank, side='left'))  # > rank detections
        det_idx = groups.det_start[rows_group[:n_active]] + rank
        match = _match_rank(chunk, dets.box[det_idx], n_active, setup)
        position = list_len[:n_active].copy()
        tally.add(det_idx, cat_of_row, position, match, dets)
        list_len[:n_active] += 1
        if match is not None and match.excluded is not None:
            list_len[match.rows] -= match.excluded
    tally.flush()


# ---- stage 5: accumulate -------------------------------------------------------------------
def _recall_and_curve(tally: _Tally, num_gt: np.ndarray,
                      setup: _Setup) -> Tuple[np.ndarray, np.ndarray]:
    """``recall [T, K, A, M]`` and ``curve [T, K, A, P]`` (-1 where no non-ignored GT)."""
    # true positives within the first p + 1 entries of the lists, T, K, A, P
    tp_within = np.cumsum(tally.tp_count.reshape(tally.shape), axis=-1).transpose(1, 0, 2, 3)
    denom = num_gt[None, :, :, None].astype(np.float64)
    curve = np.where(denom > 0, tp_within / np.maximum(denom, 1), -1.0)
    recall = curve[..., [m - 1 for m in setup.max_dets]]
    return recall, curve


def _precision_curve(tps: np.ndarray, fps: np.ndarray, npig: int,
                     rec_thrs: np.ndarray) -> np.ndarray:
    """Interpolated precision at ``rec_thrs`` (``[T, R]``), as ``COCOeval.accumulate``."""
    T, nd = tps.shape
    out = np.zeros((T, len(rec_thrs)))
    if nd == 0:
        return out
    tp_sum = np.cumsum(tps, axis=1).astype(float)
    fp_sum = np.cumsum(fps, axis=1).astype(float)
    rc = tp_sum / npig
    pr = tp_sum / (fp_sum + tp_sum + np.spacing(1))
    pr = np.maximum.accumulate(pr[:, ::-1], axis=1)[:, ::-1]
    for t in range(T):
        inds = np.searchsorted(rc[t], rec_thrs, side='left')
        ok = inds < nd
        out[t, ok] = pr[t, inds[ok]]
    return out


def _precision(tally: _Tally, dets: _RankedDetections, num_gt: np.ndarray,
               setup: _Setup) -> np.ndarray:
    """``precision [T, R, K, A, M]`` as ``COCOeval.accumulate`` (-1 where no GT)."""
    n_cats, n_thrs, n_cols, _ = tally.shape
    precision = -np.ones((n_thrs, len(setup.rec_thrs), n_cats, n_cols, len(setup.max_dets)))
    det_cat = dets.group // len(setup.img_ids) if setup.use_cats else \
        np.zeros(len(dets.group), np.int64)
    cat_start = np.searchsorted(det_cat, np.arange(n_cats), side='left')
    cat_stop = np.searchsorted(det_cat, np.arange(n_cats), side='right')
    for k in range(n_cats):
        sl = slice(cat_start[k], cat_stop[k])
        # one stable sort by score per category: a subset of a stably sorted list is in
        # the order pycocotools' mergesort gives that subset (ties: image order)
        order = np.argsort(-dets.score[sl], kind='mergesort')
        tp_k, ig_k = tally.det_tp[sl][order], tally.det_ignored[sl][order]
        pos_k = tally.det_position[sl][order]
        for col in range(n_cols):
            if num_gt[k, col] == 0:
                continue
            for mi, md in enumerate(setup.max_dets):
                in_list = (pos_k[:, col] >= 0) & (pos_k[:, col] < md)
                tps = tp_k[in_list, :, col].T  # T, n
                fps = ~tps & ~ig_k[in_list, :, col].T
                precision[:, :, k, col, mi] = _precision_curve(tps, fps, num_gt[k, col],
                                                               setup.rec_thrs)
    return precision


def _results_by_split(recall: np.ndarray, precision: Optional[np.ndarray], curve: np.ndarray,
                      num_gt: np.ndarray, setup: _Setup,
                      area_labels: Sequence[str]) -> List[EvalResult]:
    out = []
    for s in range(setup.n_splits):
        cols = slice(s * setup.n_areas, (s + 1) * setup.n_areas)
        out.append(EvalResult(
            recall=recall[:, :, cols],
            precision=None if precision is None else precision[..., cols, :],
            curve=curve[:, :, cols], num_gt=num_gt[:, cols], iou_thrs=setup.iou_thrs,
            rec_thrs=setup.rec_thrs, max_dets=setup.max_dets,
            cat_ids=tuple(int(c) for c in setup.cat_ids), area_labels=tuple(area_labels)))
    return out


def evaluate_boxes(gt: GroundTruth,
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
                   max_chunk_elems: int = 1 << 23,
                   progress: Optional[Callable[[int, int], None]] = None
                   ) -> Union[EvalResult, List[EvalResult]]:
    """Evaluate boxes like ``COCOeval(iouType='bbox')`` (+ OLN's budget rule), vectorised.

    Args:
        gt (GroundTruth): Ground truth. Rows whose image is not in ``img_ids`` or whose
            category is not in ``cat_ids`` are not evaluated (as ``COCOeval``).
        dt (Detections): Detections, same filtering (a detection whose category is not in
            ``cat_ids`` is dropped even with ``use_cats=False``, as in pycocotools: give
            class-agnostic boxes one category of ``cat_ids``).
        img_ids (Sequence[int]): ``params.imgIds``.
        cat_ids (Sequence[int]): ``params.catIds`` (order matters for ``use_cats=False``
            tie-breaking, as in pycocotools; sorted when ``use_cats``).
        max_dets (Sequence[int]): ``params.maxDets`` (sorted here, as pycocotools does).
        use_cats (bool): ``params.useCats``.
        iou_thrs (Sequence[float], optional): ``params.iouThrs``; default 0.5:0.95.
        area_ranges, area_labels: ``params.areaRng`` and ``params.areaRngLbl``.
        exclude_split_from_budget (bool | Sequence[bool]): OLN's rule, see the module
            docstring. A sequence gives one flag per ``gt.ignore_split`` column, so both
            protocols can be evaluated in one pass.
        compute_precision (bool): Also compute ``precision`` (keeps ``2*T*A`` bytes per
            detection); recall and the curve never keep anything per detection.
        max_chunk_elems (int): Bound on groups x T x A x G elements per chunk (memory).
        progress (callable, optional): Called as ``progress(done_groups, total_groups)``.

    Returns:
        EvalResult | list[EvalResult]: recall / precision / curve arrays (a list when
        ``gt.ignore_split`` is 2-D).
    """
    split, multi = _split_columns(gt)
    setup = _make_setup(img_ids, cat_ids, max_dets, use_cats, iou_thrs, area_ranges,
                        split.shape[1], exclude_split_from_budget)
    gts = _prepare_gt(gt, split, setup)
    dets = _prepare_detections(dt, setup)
    groups = _index_groups(gts, dets, setup)
    tally = _Tally(setup, len(dets.group), compute_precision)
    done = 0
    for rows_group, most_gt in _chunks(groups, len(setup.iou_thrs) * setup.n_cols,
                                       max_chunk_elems):
        chunk = _chunk_gt(gts, groups, rows_group, most_gt, setup)
        _match_chunk(chunk, rows_group, groups, dets, setup, tally)
        done += len(rows_group)
        if progress is not None:
            progress(done, len(groups.by_size))
    recall, curve = _recall_and_curve(tally, gts.num_gt, setup)
    precision = _precision(tally, dets, gts.num_gt, setup) if compute_precision else None
    out = _results_by_split(recall, precision, curve, gts.num_gt, setup, area_labels)
    return out if multi else out[0]


def summary(result: EvalResult, prefix: str = '', ap: bool = False,
            ks: Optional[Sequence[int]] = None) -> Dict[str, float]:
    """Named AR (and AP) values read by k / area / IoU from an :class:`EvalResult`.

    Keys: ``{prefix}AR@{k}`` for every k, ``{prefix}AR_{s,m,l}@{kmax}``; with ``ap``:
    ``{prefix}AP``, ``AP50``, ``AP75``, ``AP_{s,m,l}`` (at ``kmax``).
    """
    ks = result.max_dets if ks is None else ks
    out: Dict[str, float] = {}
    kmax = result.max_dets[-1]
    if ap:
        out[f'{prefix}AP'] = result.average('precision', max_det=kmax)
        out[f'{prefix}AP50'] = result.average('precision', iou=0.5, max_det=kmax)
        out[f'{prefix}AP75'] = result.average('precision', iou=0.75, max_det=kmax)
        for lbl, short in (('small', 's'), ('medium', 'm'), ('large', 'l')):
            if lbl in result.area_labels:
                out[f'{prefix}AP_{short}'] = result.average('precision', area=lbl, max_det=kmax)
    for k in ks:
        out[f'{prefix}AR@{k}'] = result.average('recall', max_det=k)
    for lbl, short in (('small', 's'), ('medium', 'm'), ('large', 'l')):
        if lbl in result.area_labels:
            out[f'{prefix}AR_{short}@{kmax}'] = result.average('recall', area=lbl, max_det=kmax)
    return out
