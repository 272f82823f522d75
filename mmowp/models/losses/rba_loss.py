"""RbA outlier loss (seed 002 §3.4, Eq. 6).

"We regularize the scores by maximizing RbA for outlier pixels, with a squared hinge loss"::

    L_RbA = sum_{x in Omega_out} max(0, alpha - RbA(x))^2
          = sum_{x in Omega_out} max(0, alpha + sum_k tanh(L_k(x)))^2          (Eq. 6)

with ``alpha = 5`` (supplementary Table 6c: any ``alpha > 0`` works similarly).

For a dense detector the "pixels" are the head's locations, ``Omega_out`` the locations inside
an outlier box (see :class:`~mmowp.datasets.transforms.OutlierPaste` and
``OWPFCOSHead(loss_rba=...)``). With FCOS logits ``sum_k tanh(L_k) in (-K, K)``, so the hinge
is inactive (loss 0) only where ``sum_k tanh(L_k) <= -alpha``; with ``alpha >= K`` (e.g. the
default 5 and 5 toy classes) it never is, and the loss keeps pushing all K logits of outlier
locations down, with a gradient that vanishes as ``tanh`` saturates.
"""
from typing import Optional

import torch
import torch.nn as nn
from mmdet.models.losses.utils import weight_reduce_loss
from mmdet.registry import MODELS
from torch import Tensor


def rba_hinge_loss(cls_logits: Tensor, alpha: float = 5.0) -> Tensor:
    """Per-location ``max(0, alpha + sum_k tanh(L_k))^2`` (Eq. 6 before the sum).

    Args:
        cls_logits (Tensor): (M, K) class logits of outlier locations.
        alpha (float): Margin of the hinge.

    Returns:
        Tensor: (M,) losses.
    """
    return (alpha + torch.tanh(cls_logits).sum(dim=-1)).clamp(min=0).pow(2)


@MODELS.register_module()
class RbALoss(nn.Module):
    """Squared-hinge RbA loss on outlier locations (Eq. 6 of seed 002).

    The input is the class logits of the outlier locations only (the head selects them), so
    no gradient reaches any other location. ``reduction='sum'`` is Eq. 6 as written;
    with ``avg_factor`` (the head passes FCOS's number of positives, as for ``loss_cls``)
    and ``reduction='mean'`` the sum is divided by it, like the head's other losses.

    Args:
        alpha (float): Hinge margin ``alpha``. Defaults to 5.0 (seed 002).
        reduction (str): ``'none'``, ``'mean'`` or ``'sum'``. Defaults to ``'mean'``.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    def __init__(self, alpha: float = 5.0, reduction: str = 'mean',
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f"RbALoss reduction must be 'none', 'mean' or 'sum', "
                             f'got {reduction!r}')
        self.alpha = float(alpha)
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
        loss = rba_hinge_loss(cls_logits, self.alpha)
        loss = weight_reduce_loss(loss, weight, reduction=reduction, avg_factor=avg_factor)
        return self.loss_weight * loss
