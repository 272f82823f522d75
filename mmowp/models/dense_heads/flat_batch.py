"""The flattened training batch of a point head, computed once per ``loss_by_feat``."""
from dataclasses import dataclass
from typing import List, Optional

from torch import Tensor


@dataclass
class FlatBatch:
    """One training batch of an FCOS-style head, flattened as mmdet's ``FCOSHead`` does:
    level by level, then image by image, then location by location (M locations in all).

    Args:
        mlvl_points (list[Tensor]): Per level, the (N_l, 2) locations of one image.
        points (Tensor): (M, 2) location of every entry.
        strides (Tensor): (M,) stride of every entry's level.
        img_inds (Tensor): (M,) image index of every entry.
        cls_scores (Tensor): (M, cls_out_channels) classification logits.
        bbox_preds (Tensor): (M, 4) predicted distances (l, t, r, b), in stride units when
            the head has ``norm_on_bbox``.
        objectness (Tensor): (M, num_branches) objectness logits.
        labels (Tensor): (M,) assigned labels, ``num_classes`` for background.
        bbox_targets (Tensor): (M, 4) assigned regression targets (units of ``bbox_preds``).
        pos_mask (Tensor): (M,) bool, the assigner's positives.
        num_pos (float): Positives averaged over processes, at least 1 (FCOS's
            ``avg_factor``).
        inside_gt (Tensor): (M,) bool, location inside any GT box (any level).
        region_targets (Tensor): (M, 4) distances to the smallest GT box containing the
            location, 0 elsewhere (All Sampling).
        fg_mask (Tensor, optional): (M,) bool, FCOS's foreground before center sampling
            (IoU Sampling's hard negatives); None when not needed.
        fg_targets (Tensor, optional): (M, 4) distances to the foreground box.
    """

    mlvl_points: List[Tensor]
    points: Tensor
    strides: Tensor
    img_inds: Tensor
    cls_scores: Tensor
    bbox_preds: Tensor
    objectness: Tensor
    labels: Tensor
    bbox_targets: Tensor
    pos_mask: Tensor
    num_pos: float
    inside_gt: Tensor
    region_targets: Tensor
    fg_mask: Optional[Tensor] = None
    fg_targets: Optional[Tensor] = None

    @property
    def pos_inds(self) -> Tensor:
        """(P,) indices of the positives."""
        return self.pos_mask.nonzero().reshape(-1)
