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
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

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
        valid = s[s > -1]
        return float(np.mean(valid)) if valid.size else -1.0

    def curve_average(self, area: str = 'all') -> np.ndarray:
        """AR (mean over IoU thresholds, class-agnostic K=1 or mean over valid K) for
        every budget ``1..P``; -1 where no GT."""
        a = self.area_labels.index(area)
        c = self.curve[:, :, a, :]  # T, K, P
        valid = c > -1
        n = valid.sum(axis=(0, 1))
        total = np.where(valid, c, 0).sum(axis=(0, 1))
        return np.where(n > 0, total / np.maximum(n, 1), -1.0)


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


def _rank(values: np.ndarray, order: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
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
    iou_thrs = default_iou_thrs() if iou_thrs is None else np.atleast_1d(
        np.asarray(iou_thrs, np.float64))
    rec_thrs = default_rec_thrs()
    max_dets = tuple(sorted(int(m) for m in max_dets))
    if not max_dets or max_dets[0] < 1:
        raise ValueError(f'max_dets must be positive integers, got {max_dets}')
    img_order = np.unique(np.asarray(img_ids, dtype=np.int64))
    cat_order = np.asarray(cat_ids, dtype=np.int64)
    if use_cats:
        cat_order = np.unique(cat_order)
    T, R, M = len(iou_thrs), len(rec_thrs), len(max_dets)
    # several ignore_split columns (S) are evaluated in one pass as S x A0 "area ranges"
    split = np.zeros((len(gt), 1), bool) if gt.ignore_split is None else \
        np.asarray(gt.ignore_split).astype(bool)
    multi = gt.ignore_split is not None and split.ndim == 2
    split = split.reshape(len(gt), -1)
    S, A0 = split.shape[1], len(area_ranges)
    A = S * A0
    excl_flags = np.asarray(exclude_split_from_budget, bool).reshape(-1)
    if len(excl_flags) not in (1, S):
        raise ValueError(f'exclude_split_from_budget has {len(excl_flags)} flags for {S} '
                         'ignore_split columns')
    excl_flags = np.broadcast_to(excl_flags, (S, ))
    excl_cols = np.repeat(excl_flags, A0)  # A
    any_excl = bool(excl_cols.any())
    K = len(cat_order) if use_cats else 1
    P = max_dets[-1]
    n_img = len(img_order)
    thr = np.minimum(iou_thrs, 1 - 1e-10)
    thr_min = thr.min()
    a_lo = np.tile(np.array([r[0] for r in area_ranges], np.float64), S)
    a_hi = np.tile(np.array([r[1] for r in area_ranges], np.float64), S)

    # ---- ground truth: filter, group, order within group -------------------------------
    g_img, ok_i = _rank(np.asarray(gt.image_id, np.int64), img_order)
    g_cat, ok_c = _rank(np.asarray(gt.category_id, np.int64), cat_order)
    keep = ok_i & ok_c
    g_img, g_cat = g_img[keep], g_cat[keep]
    g_box = np.asarray(gt.bbox, np.float64).reshape(-1, 4)[keep]
    g_area = np.asarray(gt.area, np.float64)[keep]
    g_crowd = np.asarray(gt.iscrowd).astype(bool)[keep]
    g_split = split[keep]  # N, S
    g_group = g_cat * n_img + g_img if use_cats else g_img
    g_k = g_cat if use_cats else np.zeros_like(g_cat)
    # pycocotools: useCats=0 concatenates GT category by category (catIds order)
    # (lexsort is stable: equal keys keep the file order)
    order = np.lexsort((g_cat, g_group)) if not use_cats else np.argsort(g_group, kind='stable')
    g_group, g_box, g_area, g_crowd, g_split, g_k = (
        x[order] for x in (g_group, g_box, g_area, g_crowd, g_split, g_k))
    # per area range: ignored = crowd | outside range | other split
    g_out = (g_area[:, None] < a_lo[None]) | (g_area[:, None] > a_hi[None])  # N, A
    g_ig = g_out | g_crowd[:, None] | np.repeat(g_split, A0, axis=1)
    num_gt = np.zeros((K, A), np.int64)
    for a in range(A):
        num_gt[:, a] = np.bincount(g_k[~g_ig[:, a]], minlength=K)

    # ---- detections: filter, group, sort by score, cut to max(max_dets) ----------------
    d_img, ok_i = _rank(np.asarray(dt.image_id, np.int64), img_order)
    d_cat, ok_c = _rank(np.asarray(dt.category_id, np.int64), cat_order)
    keep = ok_i & ok_c
    d_img, d_cat = d_img[keep], d_cat[keep]
    d_box = np.asarray(dt.bbox, np.float64).reshape(-1, 4)[keep]
    d_score = np.asarray(dt.score, np.float64)[keep]
    d_group = d_cat * n_img + d_img if use_cats else d_img
    # stable: equal (group, score[, category]) keep the result order, as pycocotools' mergesort
    order = np.lexsort((-d_score, d_group)) if use_cats else \
        np.lexsort((d_cat, -d_score, d_group))
    d_group, d_box, d_score = d_group[order], d_box[order], d_score[order]
    starts = np.r_[0, np.flatnonzero(np.diff(d_group)) + 1] if len(d_group) else np.zeros(0, int)
    counts = np.diff(np.r_[starts, len(d_group)])
    rank = np.arange(len(d_group)) - np.repeat(starts, counts)
    keep = rank < P
    d_group, d_box, d_score, rank = d_group[keep], d_box[keep], d_score[keep], rank[keep]
    d_area = d_box[:, 2] * d_box[:, 3]
    d_out = (d_area[:, None] < a_lo[None]) | (d_area[:, None] > a_hi[None])  # N, A

    # ---- groups -------------------------------------------------------------------------
    groups, d_start, d_count = np.unique(d_group, return_index=True, return_counts=True)
    g_start = np.searchsorted(g_group, groups, side='left')
    g_count = np.searchsorted(g_group, groups, side='right') - g_start
    group_k = groups // n_img if use_cats else np.zeros(len(groups), np.int64)
    by_size = np.argsort(-d_count, kind='stable')

    n_det = len(d_group)
    hist = np.zeros(K * T * A * P, np.int64)
    if compute_precision:
        det_tp = np.zeros((n_det, T, A), bool)
        det_ig = np.zeros((n_det, T, A), bool)
        det_pos = np.zeros((n_det, A), np.int64)  # position in the budget list, -1: excluded

    done = 0
    n_groups = len(groups)
    while done < n_groups:
        # chunk of groups (largest detection count first) within the element budget
        gmax, stop = 1, done
        while stop < n_groups:
            gm = max(gmax, int(g_count[by_size[stop]]))
            if stop > done and (stop - done + 1) * gm * T * A > max_chunk_elems:
                break
            gmax, stop = gm, stop + 1
        sel = by_size[done:stop]
        B = len(sel)
        gi = g_start[sel, None] + np.arange(gmax)[None]
        g_valid = np.arange(gmax)[None] < g_count[sel, None]
        gi = np.where(g_valid, gi, 0) if len(g_group) else np.zeros_like(gi)
        if len(g_group):
            cb_box, cb_crowd = g_box[gi], g_crowd[gi] & g_valid
            cb_ig = g_ig[gi] & g_valid[:, :, None]  # B, G, A
            cb_split = np.repeat(g_split[gi], A0, axis=-1) & g_valid[:, :, None]  # B, G, A
        else:
            cb_box = np.zeros((B, gmax, 4))
            cb_crowd = np.zeros((B, gmax), bool)
            cb_split = np.zeros((B, gmax, A), bool)
            cb_ig = np.zeros((B, gmax, A), bool)
        cb_k = group_k[sel]
        cnt = d_count[sel]
        blocked = np.zeros((B, gmax, T, A), bool)  # GT matched at (t, a), crowd never
        kept = np.zeros((B, A), np.int64)
        hist_idx = []
        # the valid (group, GT) pairs of the chunk, row-major: IoU is computed on these only
        pair_b, pair_g = np.nonzero(g_valid)
        pair_end = np.searchsorted(pair_b, np.arange(B + 1), side='left')
        pair_box, pair_crowd = cb_box[pair_b, pair_g], cb_crowd[pair_b, pair_g]
        for d in range(int(cnt[0])):
            act = int(np.searchsorted(-cnt, -d, side='left'))  # groups with > d detections
            di = d_start[sel[:act]] + d
            npair = pair_end[act]
            p_iou = box_iou_coco(d_box[di][pair_b[:npair]], pair_box[:npair, None],
                                 pair_crowd[:npair, None])[:, 0]
            # only GT with IoU >= min(thr) can be matched: gather those C (mostly 1-2) columns
            hit0 = np.flatnonzero(p_iou >= thr_min)
            ri, gi_c = pair_b[hit0], pair_g[hit0]  # row-major: GT order within a row
            pos = kept[:act].copy()  # position of this detection in each budget list
            excl = None
            if len(ri):
                rows, first, n_cand = np.unique(ri, return_index=True, return_counts=True)
                r = len(rows)
                C = int(n_cand.max())
                slot = np.arange(len(ri)) - np.repeat(first, n_cand)
                r_of = np.repeat(np.arange(r), n_cand)
                cidx = np.zeros((r, C), np.int64)
                cidx[r_of, slot] = gi_c
                r_iou = np.full((r, C), -1.0)
                r_iou[r_of, slot] = p_iou[hit0]
                # pycocotools keeps the last GT of highest IoU, non-ignored GT first: rank the
                # candidates by (IoU, GT order) and prefer non-ignored ones by an offset of C
                rk = np.empty((r, C), np.int64)
                np.put_along_axis(rk, np.argsort(r_iou, axis=1, kind='stable'),
                                  np.arange(C)[None], axis=1)
                g_rows = rows[:, None]
                free = (r_iou[:, :, None] >= thr[None, None, :])[..., None] & \
                    ~blocked[g_rows, cidx]  # r, C, T, A (padding has IoU -1: never free)
                bonus = np.where(cb_ig[g_rows, cidx], 0, C)  # r, C, A
                key = np.where(free, (rk[:, :, None] + bonus)[:, :, None, :], -1)
                mc = np.argmax(key, axis=1)  # r, T, A
                best = key.max(axis=1)
                m = cidx[np.arange(r)[:, None, None], mc]  # GT index within the group
                has_reg = best >= C
                matched = best >= 0
                # block matched non-crowd GT (crowd GT can be matched again)
                bi, ti, ai = np.nonzero(matched & ~cb_crowd[g_rows[:, :, None], m])
                blocked[rows[bi], m[bi, ti, ai], ti, ai] = True
                if any_excl:
                    excl = matched[:, 0, :] & cb_split[g_rows, m[:, 0, :], np.arange(A)[None]] \
                        & excl_cols[None]
                    hit = has_reg & ~excl[:, None, :]  # a removed detection is no TP
                else:
                    hit = has_reg
                bi, ti, ai = np.nonzero(hit)
                hist_idx.append(((cb_k[rows[bi]] * T + ti) * A + ai) * P + pos[rows[bi], ai])
            kept[:act] += 1
            if excl is not None:
                kept[rows] -= excl
            if compute_precision:
                det_tp[di] = False
                det_ig[di] = d_out[di][:, None, :]
                det_pos[di] = pos
                if len(ri):
                    dr = di[rows]
                    det_tp[dr] = has_reg
                    det_ig[dr] = (matched & ~has_reg) | (~matched & d_out[dr][:, None, :])
                    if excl is not None:
                        det_pos[dr] = np.where(excl, -1, pos[rows])
        if hist_idx:
            hist += np.bincount(np.concatenate(hist_idx), minlength=hist.size)
        done = stop
        if progress is not None:
            progress(done, n_groups)

    # ---- recall, curve ------------------------------------------------------------------
    cum = np.cumsum(hist.reshape(K, T, A, P), axis=-1).transpose(1, 0, 2, 3)  # T, K, A, P
    denom = num_gt[None, :, :, None].astype(np.float64)
    curve = np.where(denom > 0, cum / np.maximum(denom, 1), -1.0)
    recall = -np.ones((T, K, A, M))
    for mi, md in enumerate(max_dets):
        recall[:, :, :, mi] = np.where(num_gt[None] > 0, cum[..., md - 1] / np.maximum(
            num_gt[None], 1), -1.0)

    precision = None
    if compute_precision:
        precision = -np.ones((T, R, K, A, M))
        det_k = d_group // n_img if use_cats else np.zeros(n_det, np.int64)
        k_start = np.searchsorted(det_k, np.arange(K), side='left')
        k_stop = np.searchsorted(det_k, np.arange(K), side='right')
        for k in range(K):
            sl = slice(k_start[k], k_stop[k])
            # one stable sort by score per category: a subset of a stably sorted list is
            # in the order pycocotools' mergesort gives that subset (ties: image order)
            order = np.argsort(-d_score[sl], kind='mergesort')
            tp_k, ig_k, pos_k = det_tp[sl][order], det_ig[sl][order], det_pos[sl][order]
            for a in range(A):
                npig = num_gt[k, a]
                if npig == 0:
                    continue
                tp_a, ig_a, pos_a = tp_k[:, :, a], ig_k[:, :, a], pos_k[:, a]
                for mi, md in enumerate(max_dets):
                    s = (pos_a >= 0) & (pos_a < md)
                    tps = tp_a[s].T  # T, n
                    fps = ~tps & ~ig_a[s].T
                    precision[:, :, k, a, mi] = _precision_curve(tps, fps, npig, rec_thrs)
    out = []
    for si in range(S):
        a = slice(si * A0, (si + 1) * A0)
        out.append(EvalResult(
            recall=recall[:, :, a], precision=None if precision is None else precision[..., a, :],
            curve=curve[:, :, a], num_gt=num_gt[:, a], iou_thrs=iou_thrs, rec_thrs=rec_thrs,
            max_dets=max_dets, cat_ids=tuple(int(c) for c in cat_order),
            area_labels=tuple(area_labels)))
    return out if multi else out[0]


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
