"""Objectness targets of FCOS-OWP §3.2: the Eq. 2 IoU between two (l, t, r, b) tuples and
IoU Sampling.

Both functions work on flattened per-location tensors and are shared by every head that
trains an IoU objectness branch (:class:`~mmowp.models.dense_heads.OWPFCOSHead` and the
ATSS variants).
"""
from typing import Optional

import torch
from torch import Tensor


def distance_iou(pred: Tensor, target: Tensor, eps: float = 1e-6) -> Tensor:
    """IoU of two boxes given as distances from the same location (FCOS-OWP, Eq. 2).

    .. math::

        I = (\\min(l, l^*) + \\min(r, r^*)) (\\min(b, b^*) + \\min(t, t^*))

        U = (l^* + r^*)(t^* + b^*) + (l + r)(t + b) - I, \\qquad IOU = I / U

    The formula holds when both boxes contain the location (all distances >= 0), which is
    the case for FCOS predictions (``exp`` or ``clamp(min=0)``) and for targets of locations
    inside their GT box.

    Args:
        pred (Tensor): Predicted distances (l, t, r, b) (mmdet's order), shape (N, 4).
            Detach it before calling when the result is used as a training target.
        target (Tensor): Target distances (l*, t*, r*, b*), shape (N, 4).
        eps (float): Lower bound of the union, so that degenerate boxes give 0, not NaN.

    Returns:
        Tensor: IoU per location, shape (N,), in [0, 1].
    """
    if pred.shape != target.shape or pred.size(-1) != 4:
        raise ValueError('distance_iou expects pred and target of the same shape (N, 4), '
                         f'got {tuple(pred.shape)} and {tuple(target.shape)}')
    pl, pt, pr, pb = pred.unbind(-1)
    tl, tt, tr, tb = target.unbind(-1)
    inter = (torch.min(pl, tl) + torch.min(pr, tr)) * (torch.min(pb, tb) + torch.min(pt, tt))
    union = (tl + tr) * (tt + tb) + (pl + pr) * (pt + pb) - inter
    return inter / union.clamp(min=eps)


def iou_sampling(targets: Tensor, thr: Optional[float]) -> Tensor:
    """IoU Sampling (FCOS-OWP §3.2, Figure 3): IoU targets below ``thr`` become 0.

    "sets the IOU of pixels within the ground-truth whom have IOU < 0.3 to 0.0 [...] any
    pixel with IOU > 0.3 will retain their IOU Score" — the sampled locations with a poor
    predicted box become hard negatives of the objectness branch. A target equal to ``thr``
    is kept.

    Args:
        targets (Tensor): IoU targets of any shape.
        thr (float, optional): The threshold (0.3 in the paper); ``None`` returns
            ``targets`` unchanged.

    Returns:
        Tensor: The sampled targets, same shape and dtype as ``targets``.
    """
    if thr is None:
        return targets
    if not 0.0 <= float(thr) <= 1.0:
        raise ValueError(f'iou_sampling_thr must be in [0, 1] or None, got {thr}')
    return torch.where(targets < thr, torch.zeros_like(targets), targets)
