"""RbA outlier loss (RbA (Nayal et al., ICCV 2023) §3.4, Eq. 6) on a sigmoid dense head.

The paper: "We regularize the scores by *maximizing RbA for outlier pixels*, with a squared
hinge loss. This is also equivalent to suppressing high-confidence probabilities of known
classes for outlier pixels"::

    L_RbA = sum_{x in Omega_out} max(0, alpha - RbA(x))^2                          (Eq. 6)
          = sum_{x in Omega_out} max(0, alpha + sum_k sigma(L_k(x)))^2,   sigma = tanh

"We experimentally set the hyper-parameter alpha to 5 but we found that any alpha > 0 works
well in practice" (supplementary Table 6c ablates alpha in {-0.1, -0.01, 0, 2, 5, 10}).

**Why not on raw FCOS logits.** In RbA the logits are non-negative: Mask2Former's
``L(x) = sum_n P_n(x) M_n(x)`` (Eq. 2) is a sum of class probabilities times mask
probabilities, and "we choose sigma to be the tanh function to map L_k > 0 more uniformly to
the range [0, 1]" (§3.3). Each ``tanh(L_k)`` is a *vote* in [0, 1): 0 when the class rejects
the pixel, and "true outlier pixels do not receive any votes from any object query" (§3.5).
FCOS's sigmoid class logits are unbounded and, on background, strongly negative. Applied to them
as printed, ``alpha + sum_k tanh(L_k)`` is about ``alpha - K`` at a fully rejected location and
``alpha - K + 2`` where one class fires: with K = 20 (COCO VOC classes) and alpha = 5 the hinge
is inactive even when one class fires confidently on a pasted outlier (5 - 19 + 1 < 0), so the
fine-tuning gets no signal; with K <= alpha (the 5 toy classes) it acts on every logit, also on
those of the classes that already reject.

**The transfer used here** (``votes='positive'``, the default): a one-vs-all sigmoid classifier
rejects where its logit is ``<= 0`` (``p <= 0.5``) and casts no vote; where it accepts, its vote
is ``tanh(L_k)``, as in the paper. With ``S(x) = sum_k tanh(max(L_k(x), 0))``
(:func:`~mmowp.models.utils.rba.rba_votes`, the votes of the ``'rej'`` score) the per-location
loss is Eq. 6 minus its value at a fully rejected location::

    l(x) = max(0, alpha + S(x))^2 - max(0, alpha)^2
         = S(x) (S(x) + 2 alpha)              for alpha > 0
         = max(0, alpha + S(x))^2             for alpha <= 0 (Eq. 6 as printed)

The subtracted constant does not change the gradient (the paper drops Eq. 4's constant 1 by the
same argument: it "does not affect the optimization"), so on the paper's domain (all
``L_k >= 0``) the gradient is exactly that of Eq. 6. It makes the loss 0 -- and its gradient 0
-- at a location that every class rejects, for any K (5, 20, 60, 80 or LVIS's 1203), so the
logged ``loss_rba`` is the outlier signal that is left, not ``alpha^2`` per location. Where a
class fires, ``dl/dL_k = 2 (alpha + S) (1 - tanh^2(L_k))``: positive, so a gradient step lowers
exactly the accepting classes' logits and leaves the rejecting ones alone, independent of K.
As in the paper, ``tanh`` saturates: a logit of +5 gets ``2 * 6 * 1.8e-4 ~ 2.2e-3`` (the
paper's votes are mostly ``L_k <= 1``, where ``1 - tanh^2 >= 0.42``).

``votes='raw'`` is Eq. 6 as printed on the raw logits (the package's formula before this
transfer). It is kept only to measure the difference (e.g. re-running an old fine-tuning);
it is not a faithful reading for a sigmoid head and it silently does nothing once ``K`` exceeds
``alpha`` by 2 or more.

For a dense detector the "pixels" are the head's locations, ``Omega_out`` the locations inside
an outlier box (see :class:`~mmowp.datasets.transforms.OutlierPaste` and
``OWPFCOSHead(loss_rba=...)``).
"""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor

from ..utils.rba import rba_votes

#: Vote forms of :func:`rba_hinge_loss` (see the module docstring).
RBA_LOSS_VOTES = ('positive', 'raw')


def rba_hinge_loss(cls_logits: Tensor, alpha: float = 5.0, votes: str = 'positive') -> Tensor:
    """Per-location RbA loss (Eq. 6 before the sum over ``Omega_out``).

    Args:
        cls_logits (Tensor): (M, K) class logits of outlier locations.
        alpha (float): Margin of the hinge. Defaults to 5.0.
        votes (str): ``'positive'``: ``max(0, alpha + S)^2 - max(0, alpha)^2`` with
            ``S = sum_k tanh(max(L_k, 0))``, zero where every class rejects. ``'raw'``:
            ``max(0, alpha + sum_k tanh(L_k))^2`` on the raw logits (the pre-transfer
            formula, kept for measurement). Defaults to ``'positive'``.

    Returns:
        Tensor: (M,) losses.
    """
    if votes == 'positive':
        s = rba_votes(cls_logits)
        if alpha > 0:
            # (alpha + S)^2 - alpha^2, written so that S = 0 gives exactly 0
            return s * (s + 2.0 * alpha)
        return (alpha + s).clamp(min=0).pow(2)
    if votes == 'raw':
        return (alpha + torch.tanh(cls_logits).sum(dim=-1)).clamp(min=0).pow(2)
    raise ValueError(f'RbA loss votes must be one of {RBA_LOSS_VOTES}, got {votes!r}')


@MODELS.register_module()
class RbALoss(nn.Module):
    """Squared-hinge RbA loss on outlier locations (RbA (Nayal et al., ICCV 2023), Eq. 6).

    The input is the class logits of the outlier locations only (the head selects them), so
    no gradient reaches any other location. ``reduction='sum'`` is Eq. 6 as written;
    with ``avg_factor`` (the head passes FCOS's number of positives, as for ``loss_cls``)
    and ``reduction='mean'`` the sum is divided by it, like the head's other losses. See the
    module docstring for the transfer of Eq. 6 to sigmoid logits (``votes``).

    Args:
        alpha (float): Hinge margin ``alpha``. Defaults to 5.0 (the paper's value).
        votes (str): ``'positive'`` (default; the votes ``tanh(max(L_k, 0))`` of the ``'rej'``
            score, loss 0 where every class rejects) or ``'raw'`` (Eq. 6 as printed on raw
            logits; only to measure the difference, inactive for ``K >= alpha + 2``).
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, alpha: float = 5.0, votes: str = 'positive', reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"RbALoss reduction must be 'none', 'mean' or 'sum', "
                             f'got {reduction!r}')
        if votes not in RBA_LOSS_VOTES:
            raise ValueError(f'RbALoss votes must be one of {RBA_LOSS_VOTES}, got {votes!r}')
        self.alpha = float(alpha)
        self.votes = votes
        self.reduction = reduction
        self.loss_weight = float(loss_weight)

    def forward(self,
                cls_logits: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None) -> Tensor:
        """Compute the loss.

        Args:
            cls_logits (Tensor): (M, K) logits of the outlier locations.
            weight (Tensor, optional): (M,) per-location weights.
            avg_factor (float, optional): Normaliser of ``'mean'`` (as mmdet's losses).
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss (scalar unless ``reduction='none'``).
        """
        if cls_logits.dim() != 2:
            raise ValueError('RbALoss expects (num_locations, num_classes) logits, got shape '
                             f'{tuple(cls_logits.shape)}')
        reduction = reduction_override if reduction_override else self.reduction
        loss = rba_hinge_loss(cls_logits, self.alpha, self.votes)
        loss = weight_reduce_loss(loss, weight, reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss
