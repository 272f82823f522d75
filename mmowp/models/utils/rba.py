"""Rejected-by-All (RbA) outlier scores on a dense detector's class logits (RbA (Nayal et al.,
ICCV 2023) §3.3).

RbA models the K known classes as K independent one-vs-all classifiers,
``p(y = k | x) = sigma(L_k(x))`` (Eq. 3), so that the probability of an outlier -- a region
*rejected by all* known classes -- is ``1 - sum_k sigma(L_k(x))`` (Eq. 4). Dropping the
constant gives the score (Eq. 5, with ``sigma = tanh``)::

    RbA(x) = - sum_k tanh(L_k(x))

FCOS's sigmoid classification branch *is* K one-vs-all classifiers per location (focal loss,
no softmax), so :func:`rba` applies to its per-location logits ``L(x)`` (``(..., K)``) as is.

Range and normalisations. FCOS logits are unbounded, so ``tanh(L_k) in (-1, 1)`` and
``RbA in (-K, K)``: ``RbA -> K`` when every classifier rejects the location strongly
(all logits very negative: background or an unknown object), ``RbA ~ K - 2`` for a
location accepted by exactly one class. Two normalisations to ``[0, 1]`` are provided:

* ``'rba'`` -- the affine map :func:`rba_affine`, ``(RbA + K) / (2K)``. Monotone in RbA, so
  it ranks locations exactly as Eq. 5 does; but one accepting class only moves it by
  ``~1/K``, so multiplied with an objectness it barely changes the objectness ranking when
  K is large (COCO: 0.9875 vs 1.0).
* ``'rej'`` -- the *rejection probability* :func:`rba_rejection`,
  ``clamp(1 - sum_k tanh(max(L_k, 0)), 0, 1)``: Eq. 4 with ``sigma = tanh`` applied to the
  positive part of the logits (:func:`rba_votes`). In RbA the logits are non-negative
  (Mask2Former's ``L`` is a sum of probabilities times masks, Eq. 2), so
  ``tanh(L_k) in [0, 1)`` is a *vote*;
  for FCOS a logit ``<= 0`` means the one-vs-all classifier rejects (``p <= 0.5``) and casts
  no vote. ``rej = 1`` when all K classifiers reject, and it falls to 0 once the accepting
  classes' votes add up to 1. It is the normalisation to use in products with objectness
  ("an object, and no known class"). It is flat (= 1) over all fully rejected locations,
  so alone it does not rank them; the objectness factor does. The RbA loss
  (:class:`~mmowp.models.losses.RbALoss`, Eq. 6) is built on the same votes, so
  fine-tuning maximises exactly this score on outlier locations.

The score modes built on these functions (``'rba'``, ``'rej'``, ``'iou*rej'``, ...) are parsed
and computed by :mod:`mmowp.models.utils.scoring`.
"""
from typing import Sequence

import torch
from torch import Tensor


def rba(cls_logits: Tensor) -> Tensor:
    """Eq. 5 of RbA: ``RbA(x) = -sum_k tanh(L_k(x))``.

    Args:
        cls_logits (Tensor): (..., K) one-vs-all class logits.

    Returns:
        Tensor: (...) RbA scores in (-K, K); higher = more likely an outlier.
    """
    return -torch.tanh(cls_logits).sum(dim=-1)


def rba_affine(cls_logits: Tensor) -> Tensor:
    """``(RbA + K) / (2K)`` in [0, 1], monotone in Eq. 5 (score mode ``'rba'``)."""
    num_classes = cls_logits.size(-1)
    if num_classes == 0:
        raise ValueError('rba_affine needs at least one class logit (got shape '
                         f'{tuple(cls_logits.shape)})')
    return (rba(cls_logits) + num_classes) / (2.0 * num_classes)


def rba_votes(cls_logits: Tensor) -> Tensor:
    """Sum of the known classes' votes, ``sum_k tanh(max(L_k, 0))`` (the sum of Eq. 4 on the
    positive part of the logits).

    A logit ``<= 0`` (a one-vs-all classifier that rejects) casts no vote and gets no
    gradient (``relu``, whose derivative at 0 is 0), so the votes of a location that every
    class rejects are exactly 0 for any number of classes.

    Args:
        cls_logits (Tensor): (..., K) one-vs-all class logits.

    Returns:
        Tensor: (...) votes in [0, K).
    """
    return torch.tanh(torch.relu(cls_logits)).sum(dim=-1)


def rba_rejection(cls_logits: Tensor) -> Tensor:
    """Rejection probability ``clamp(1 - sum_k tanh(max(L_k, 0)), 0, 1)`` (Eq. 4 on the
    positive part of the logits, :func:`rba_votes`; score mode ``'rej'``)."""
    return (1.0 - rba_votes(cls_logits)).clamp(min=0.0, max=1.0)


def points_in_boxes(points: Tensor, boxes: Tensor) -> Tensor:
    """Which points lie strictly inside any of the boxes.

    Args:
        points (Tensor): (M, 2) ``(x, y)``.
        boxes (Tensor): (B, 4) ``(x1, y1, x2, y2)``.

    Returns:
        Tensor: (M,) bool.
    """
    if boxes.numel() == 0:
        return points.new_zeros(len(points), dtype=torch.bool)
    x, y = points[:, 0, None], points[:, 1, None]
    inside = (x > boxes[:, 0]) & (x < boxes[:, 2]) & (y > boxes[:, 1]) & (y < boxes[:, 3])
    return inside.any(dim=1)


def outlier_location_mask(points: Tensor, img_inds: Tensor,
                          batch_outlier_bboxes: Sequence[Tensor]) -> Tensor:
    """Outlier locations (``Omega_out`` of Eq. 6): locations inside an outlier box of their
    own image.

    Args:
        points (Tensor): (M, 2) location coordinates (input-image pixels).
        img_inds (Tensor): (M,) image index of each location.
        batch_outlier_bboxes (Sequence[Tensor]): Per image, (B_i, 4) outlier boxes
            ``(x1, y1, x2, y2)`` in the same coordinates.

    Returns:
        Tensor: (M,) bool.
    """
    mask = points.new_zeros(len(points), dtype=torch.bool)
    for i, boxes in enumerate(batch_outlier_bboxes):
        if boxes is None or len(boxes) == 0:
            continue
        sel = img_inds == i
        mask[sel] = points_in_boxes(points[sel], boxes.to(points))
    return mask
