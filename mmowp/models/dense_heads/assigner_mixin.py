"""Let an FCOS-style head take its training targets from ``train_cfg.assigner``.

ATSS (Zhang et al., CVPR 2020), Table 3, compares three ways of choosing the positive locations
of the same FCOS:

* **FCOS** (no ``train_cfg.assigner``): mmdet's own rule, a location is positive for the
  smallest-area GT box that contains it and whose size fits the level's ``regress_ranges``;
* **+ center sampling** (no assigner, ``center_sampling=True``, radius 1.5): the "lite" ATSS,
  only locations within ``1.5 * stride`` of the GT centre are candidates, regress ranges kept;
* **+ ATSS** (``train_cfg.assigner=dict(type='PointATSSAssigner', topk=9)``): Algorithm 1 of
  ATSS on virtual ``8S`` anchors; the per-level ``regress_ranges`` are not used, "exactly as
  in the paper" (§4.2: the full version selects along the scale dimension adaptively).

:class:`AssignerMixin` overrides only ``FCOSHead._get_targets_single`` and keeps its contract:
it returns ``labels`` (N,) with ``num_classes`` for background, and ``bbox_targets`` (N, 4), the
``(left, top, right, bottom)`` distances from each location to its assigned GT in pixels;
``FCOSHead.get_targets`` still splits them per level and divides them by the stride when
``norm_on_bbox=True``. Negative locations get all-zero distances (FCOSHead leaves an arbitrary
GT's distances there; neither is used by the losses, which only read positives).

IoU Sampling (FCOS-OWP §3.2) stays in the head's loss, not here: it needs the *predicted* boxes
(targets below the IoU threshold become hard negatives), which an assigner never sees. It
composes with any assigner because it only post-processes the positives chosen here.
"""
import inspect
from typing import List, Tuple

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.task_modules.assigners import AssignResult
from mmdet.registry import MODELS, TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmengine.structures import InstanceData
from torch import Tensor


class AssignerMixin:
    """Mixin for :class:`~mmdet.models.dense_heads.FCOSHead` subclasses.

    Put it before the FCOS base: ``class MyHead(AssignerMixin, FCOSHead)``. When the head's
    ``train_cfg`` has an ``assigner``, it is built into ``self.assigner`` (from mmdet's
    ``TASK_UTILS``) and called per image as ``assigner.assign(pred_instances, num_level_priors,
    gt_instances)`` with ``pred_instances.priors`` = ``(x, y, stride_w, stride_h)`` of every
    location (the format of ``MlvlPointGenerator.grid_priors(..., with_stride=True)``);
    ``num_level_priors`` is passed only if the assigner's ``assign`` accepts it. Without an
    assigner, the head behaves exactly as ``FCOSHead`` (regress ranges, optional center sampling).

    Raises:
        ValueError: if both ``center_sampling=True`` and ``train_cfg.assigner`` are given (the
            assigner would silently replace center sampling).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        train_cfg = getattr(self, 'train_cfg', None) or {}
        assigner_cfg = train_cfg.get('assigner')
        self.assigner = TASK_UTILS.build(assigner_cfg) if assigner_cfg else None
        if self.assigner is not None and getattr(self, 'center_sampling', False):
            raise ValueError(
                f'{type(self).__name__}: center_sampling=True and train_cfg.assigner='
                f'{assigner_cfg.get("type")} are exclusive (the assigner chooses the positives); '
                'set center_sampling=False or drop train_cfg.assigner')
        self._assigner_takes_levels = self.assigner is not None and (
            'num_level_priors' in inspect.signature(self.assigner.assign).parameters)

    def _point_priors(self, points: Tensor, num_points_per_lvl: List[int]) -> Tensor:
        """``(x, y, stride_w, stride_h)`` of every location, shape (N, 4).

        Args:
            points (Tensor): (N, 2) locations of all levels, concatenated level by level.
            num_points_per_lvl (list[int]): Number of locations of each level.
        """
        strides = points.new_tensor(
            [tuple(s) for s in self.prior_generator.strides]).repeat_interleave(
                torch.as_tensor(num_points_per_lvl, device=points.device), dim=0)
        return torch.cat([points, strides], dim=1)

    def _assign_single(self, gt_instances: InstanceData, points: Tensor,
                       num_points_per_lvl: List[int]) -> AssignResult:
        """Run ``self.assigner`` on one image's locations.

        Args:
            gt_instances (:obj:`InstanceData`): GT ``bboxes`` and ``labels`` of the image.
            points (Tensor): (N, 2) locations of all levels.
            num_points_per_lvl (list[int]): Number of locations of each level.

        Returns:
            :obj:`AssignResult`: ``gt_inds`` 0 = negative, k > 0 = GT k-1.
        """
        pred_instances = InstanceData(priors=self._point_priors(points, num_points_per_lvl))
        if self._assigner_takes_levels:
            return self.assigner.assign(pred_instances, num_points_per_lvl, gt_instances)
        return self.assigner.assign(pred_instances, gt_instances)

    def _get_targets_single(self, gt_instances: InstanceData, points: Tensor,
                            regress_ranges: Tensor,
                            num_points_per_lvl: List[int]) -> Tuple[Tensor, Tensor]:
        """Labels and ``(l, t, r, b)`` targets of one image (``FCOSHead``'s contract).

        Args:
            gt_instances (:obj:`InstanceData`): GT ``bboxes`` and ``labels`` of the image.
            points (Tensor): (N, 2) locations of all levels.
            regress_ranges (Tensor): (N, 2) regress range of each location; unused when an
                assigner is configured.
            num_points_per_lvl (list[int]): Number of locations of each level.

        Returns:
            tuple[Tensor, Tensor]: ``labels`` (N,) (``num_classes`` = background) and
            ``bbox_targets`` (N, 4) in pixels (zeros at negatives).
        """
        if self.assigner is None:
            return super()._get_targets_single(gt_instances, points, regress_ranges,
                                               num_points_per_lvl)
        num_points = points.size(0)
        gt_bboxes, gt_labels = get_box_tensor(gt_instances.bboxes), gt_instances.labels
        labels = gt_labels.new_full((num_points, ), self.num_classes)
        bbox_targets = gt_bboxes.new_zeros((num_points, 4))
        if len(gt_instances) == 0:
            return labels, bbox_targets
        assign_result = self._assign_single(gt_instances, points, num_points_per_lvl)
        pos = assign_result.gt_inds > 0
        pos_gt = assign_result.gt_inds[pos] - 1
        labels[pos] = gt_labels[pos_gt]
        pos_points, pos_boxes = points[pos], gt_bboxes[pos_gt]
        bbox_targets[pos] = torch.cat(
            [pos_points - pos_boxes[:, :2], pos_boxes[:, 2:] - pos_points], dim=1)
        return labels, bbox_targets


@MODELS.register_module()
class ATSSFCOSHead(AssignerMixin, FCOSHead):
    """mmdet's :class:`FCOSHead` whose positives come from ``train_cfg.assigner`` if given.

    The three FCOS rows of ATSS Table 3 are configs of this head: no assigner (FCOS),
    no assigner + ``center_sampling=True`` (+ center sampling), and
    ``train_cfg=dict(assigner=dict(type='PointATSSAssigner', topk=9))`` (+ ATSS).
    All arguments are those of :class:`FCOSHead`.
    """
