"""COCO-style average precision of one image, vectorised in torch.

The policy-gradient detector (Rao et al., CVPR 2018), §4: "During training, we compute mAP over
each image to produce the policy gradient
[...] mAP is calculated at multiple (0.5:0.95) IoU threshold following COCO evaluation". This
module computes exactly what ``pycocotools.cocoeval.COCOeval`` (``iouType='bbox'``, area range
``'all'``, one image, no crowd/ignored boxes) reports as AP@[.5:.95] for ``maxDets=100``, for
several detection sets of the same image at once, with no Python loop over categories,
thresholds or sets:

* per category and IoU threshold, detections are taken in decreasing score order (stable sort,
  as pycocotools' ``mergesort``) and each is matched to the unmatched same-category GT box of
  highest IoU that is ``>= min(t, 1 - 1e-10)`` (ties: the later GT, as pycocotools). Detections
  are laid out by category, then score; the only Python loop runs over the positions of that
  layout where some detection reaches the lowest threshold (at most the number of
  detections), batched over sets and thresholds (categories never compete for a GT);
* ``precision = tp / (tp + fp + eps)``, ``recall = tp / num_gt`` (cumulated per category); the
  interpolated precision at recall threshold ``r`` is the precision envelope (the maximum over
  the category's later detections) at the first detection with ``recall >= r``, 0 when none
  reaches ``r`` — pycocotools' right-to-left envelope + ``searchsorted``, computed as a
  reverse ``cummax`` and a count of the thresholds each detection's recall step covers;
* AP = the mean over IoU thresholds, categories that have a GT box in the image, and recall
  thresholds. Categories with detections but no GT are left out (pycocotools' ``-1``); an image
  without GT has no AP and gives ``-1``, as ``COCOeval.summarize``.

Only ``max_dets`` detections per category are evaluated (pycocotools keeps the top
``maxDets[-1]`` of every category of an image).
"""
from typing import Optional

import numpy as np
import torch
from torch import Tensor

#: pycocotools ``Params.iouThrs`` (0.5:0.05:0.95), built with numpy exactly as pycocotools does.
COCO_IOU_THRS = np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1, endpoint=True)
#: pycocotools ``Params.recThrs`` (0:0.01:1); numpy's linspace, not torch's, so that recall
#: comparisons round identically.
COCO_REC_THRS = np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1, endpoint=True)


def pairwise_box_iou(boxes1: Tensor, boxes2: Tensor) -> Tensor:
    """IoU of ``(..., N, 4)`` and ``(M, 4)`` boxes ``(x1, y1, x2, y2)``, as pycocotools' bbox
    IoU (no ``+1``; an empty union gives 0). Returns ``(..., N, M)``."""
    lt = torch.maximum(boxes1[..., :, None, :2], boxes2[:, :2])
    rb = torch.minimum(boxes1[..., :, None, 2:], boxes2[:, 2:])
    wh = (rb - lt).clamp(min=0)
    inter = wh[..., 0] * wh[..., 1]
    area1 = (boxes1[..., 2] - boxes1[..., 0]) * (boxes1[..., 3] - boxes1[..., 1])
    area2 = (boxes2[:, 2] - boxes2[:, 0]) * (boxes2[:, 3] - boxes2[:, 1])
    union = area1[..., :, None] + area2 - inter
    return torch.where(union > 0, inter / union.clamp(min=torch.finfo(union.dtype).tiny),
                       torch.zeros_like(inter))


def batched_image_ap(det_bboxes: Tensor,
                     det_scores: Tensor,
                     det_labels: Tensor,
                     gt_bboxes: Tensor,
                     gt_labels: Tensor,
                     det_valid: Optional[Tensor] = None,
                     iou_thrs: Optional[Tensor] = None,
                     rec_thrs: Optional[Tensor] = None,
                     max_dets: int = 100) -> Tensor:
    """COCO AP@[.5:.95] of ``S`` detection sets of one image (no gradient).

    Args:
        det_bboxes (Tensor): (S, D, 4) detections ``(x1, y1, x2, y2)``, S sets padded to D.
        det_scores (Tensor): (S, D) detection scores (ranking only).
        det_labels (Tensor): (S, D) category of each detection (any integer ids).
        gt_bboxes (Tensor): (G, 4) GT boxes ``(x1, y1, x2, y2)``.
        gt_labels (Tensor): (G,) GT categories, same ids as ``det_labels``.
        det_valid (Tensor, optional): (S, D) bool, False for padding. Defaults to all True.
        iou_thrs (Tensor, optional): IoU thresholds; defaults to COCO's 0.5:0.05:0.95.
        rec_thrs (Tensor, optional): Recall thresholds; defaults to COCO's 0:0.01:1.
        max_dets (int): Detections kept per category (COCO ``maxDets``). Defaults to 100.

    Returns:
        Tensor: (S,) float64 AP of each set; ``-1`` for every set when the image has no GT.
    """
    if det_bboxes.dim() != 3 or det_bboxes.size(-1) != 4:
        raise ValueError(f'det_bboxes must be (S, D, 4), got {tuple(det_bboxes.shape)}')
    num_sets, num_dets = det_bboxes.shape[:2]
    if det_scores.shape != (num_sets, num_dets) or det_labels.shape != (num_sets, num_dets):
        raise ValueError('det_scores and det_labels must be (S, D) = '
                         f'{(num_sets, num_dets)}, got {tuple(det_scores.shape)} and '
                         f'{tuple(det_labels.shape)}')
    if gt_bboxes.dim() != 2 or gt_bboxes.size(-1) != 4 or len(gt_bboxes) != len(gt_labels):
        raise ValueError(f'gt_bboxes must be (G, 4) and gt_labels (G,), got '
                         f'{tuple(gt_bboxes.shape)} and {tuple(gt_labels.shape)}')
    device = det_bboxes.device
    f64 = torch.float64
    if len(gt_bboxes) == 0:
        return torch.full((num_sets, ), -1.0, dtype=f64, device=device)
    iou_thrs = torch.as_tensor(COCO_IOU_THRS if iou_thrs is None else iou_thrs, dtype=f64,
                               device=device)
    rec_thrs = torch.as_tensor(COCO_REC_THRS if rec_thrs is None else rec_thrs, dtype=f64,
                               device=device)
    if det_valid is None:
        det_valid = torch.ones((num_sets, num_dets), dtype=torch.bool, device=device)
    det_valid = det_valid.bool()

    # compact category ids over GT and detections; padding gets id K (sorted last)
    cats, inverse = torch.unique(
        torch.cat([gt_labels.reshape(-1), det_labels.reshape(-1)]), return_inverse=True)
    num_cats = len(cats)
    gt_cat = inverse[:len(gt_labels)]
    det_cat = torch.where(det_valid, inverse[len(gt_labels):].view(num_sets, num_dets),
                          num_cats)
    num_gt_per_cat = torch.bincount(gt_cat, minlength=num_cats + 1).to(f64)  # (K + 1,)

    # layout: by category, then decreasing score (stable, as pycocotools' mergesort)
    order = torch.sort(det_scores.to(f64), dim=1, descending=True, stable=True)[1]
    order = order.gather(1, torch.sort(det_cat.gather(1, order), dim=1, stable=True)[1])
    det_cat = det_cat.gather(1, order)
    det_valid = det_valid.gather(1, order)
    det_bboxes = det_bboxes.to(f64).gather(1, order[..., None].expand(-1, -1, 4))
    position = torch.arange(num_dets, device=device).expand(num_sets, -1)
    seg_start = torch.searchsorted(det_cat.contiguous(), det_cat.contiguous())  # (S, D)
    # COCO keeps the top max_dets detections of each category
    det_valid = det_valid & (position - seg_start < max_dets)

    ious = pairwise_box_iou(det_bboxes, gt_bboxes.to(f64))  # (S, D, G)
    ious = torch.where((det_cat[..., None] == gt_cat) & det_valid[..., None], ious,
                       ious.new_full((), -1.0))  # a detection only matches its category
    thrs = iou_thrs.clamp(max=1 - 1e-10)  # pycocotools: iou = min([t, 1 - 1e-10])

    num_thrs, num_gts = len(thrs), len(gt_bboxes)
    gt_taken = torch.zeros((num_sets, num_thrs, num_gts), dtype=torch.bool, device=device)
    tp = torch.zeros((num_sets, num_thrs, num_dets), dtype=torch.bool, device=device)
    # Greedy matching, one detection position at a time for all sets and thresholds; within
    # a category positions follow the score order, and categories never share a GT. Only
    # positions where some detection reaches the lowest threshold can match.
    for d in (ious >= thrs.min()).any(-1).any(0).nonzero().reshape(-1).tolist():
        iou_d = ious[:, d, None, :]  # (S, 1, G)
        ok = (~gt_taken) & (iou_d >= thrs[None, :, None])  # (S, T, G)
        masked = torch.where(ok, iou_d, iou_d.new_full((), -2.0))
        # the last GT among equal maxima, as pycocotools' loop keeps updating on ">="
        best = num_gts - 1 - masked.flip(-1).argmax(-1)  # (S, T)
        matched = ok.any(-1)  # (S, T)
        tp[:, :, d] = matched
        gt_taken |= torch.nn.functional.one_hot(best, num_gts).bool() & matched[..., None]
    fp = det_valid[:, None, :] & ~tp  # (S, T, D)

    # cumulative tp / fp within each category segment
    def seg_cumsum(flags: Tensor) -> Tensor:
        cum = flags.to(f64).cumsum(-1)
        before = cum.gather(-1, (seg_start - 1).clamp(min=0)[:, None].expand_as(cum))
        return cum - torch.where(seg_start[:, None] > 0, before, before.new_zeros(()))

    tp_cum, fp_cum = seg_cumsum(tp), seg_cumsum(fp)
    n_gt = num_gt_per_cat[det_cat][:, None, :]  # (S, 1, D)
    recall = tp_cum / n_gt.clamp(min=1)
    precision = tp_cum / (tp_cum + fp_cum + np.spacing(1))
    valid = det_valid[:, None, :].expand_as(precision)
    # precision envelope (max over the later detections of the category): a reverse cummax
    # with per-category offsets that keep segments apart (precision is in [0, 1])
    offset = 4.0 * (num_cats + 1 - det_cat).to(f64)[:, None, :]
    env = torch.where(valid, precision, precision.new_full((), -1.0)) + offset
    env = torch.flip(torch.cummax(torch.flip(env, [-1]), -1)[0], [-1]) - offset
    # pycocotools: q(r) = envelope at the first detection with recall >= r; so detection d
    # takes the recall thresholds in (recall of the previous detection, recall_d]
    num_reached = torch.searchsorted(rec_thrs, recall, right=True).to(f64)  # #{r <= recall}
    prev = torch.cat([num_reached.new_zeros(num_reached.shape[:-1] + (1, )),
                      num_reached[..., :-1]], -1)
    first = (position == seg_start)[:, None, :]
    gained = num_reached - torch.where(first, prev.new_zeros(()), prev)
    contrib = torch.where(valid & (n_gt > 0), env * gained, env.new_zeros(()))
    ap = contrib.new_zeros((num_sets, num_thrs, num_cats + 1))
    ap.scatter_add_(2, det_cat[:, None, :].expand_as(contrib), contrib)
    has_gt = num_gt_per_cat[:num_cats] > 0
    return ap[:, :, :num_cats][:, :, has_gt].mean(dim=(1, 2)) / len(rec_thrs)


def image_ap(det_bboxes: Tensor,
             det_scores: Tensor,
             det_labels: Tensor,
             gt_bboxes: Tensor,
             gt_labels: Tensor,
             iou_thrs: Optional[Tensor] = None,
             max_dets: int = 100) -> float:
    """COCO AP@[.5:.95] of one detection set of one image (see :func:`batched_image_ap`).

    Args:
        det_bboxes (Tensor): (D, 4) detections ``(x1, y1, x2, y2)``.
        det_scores (Tensor): (D,) scores.
        det_labels (Tensor): (D,) categories.
        gt_bboxes (Tensor): (G, 4) GT boxes.
        gt_labels (Tensor): (G,) GT categories.
        iou_thrs (Tensor, optional): IoU thresholds, COCO's by default.
        max_dets (int): Detections kept per category. Defaults to 100.

    Returns:
        float: The AP, ``-1`` when the image has no GT box.
    """
    return float(
        batched_image_ap(det_bboxes[None], det_scores[None], det_labels[None], gt_bboxes,
                         gt_labels, iou_thrs=iou_thrs, max_dets=max_dets)[0])
