"""Which locations train the objectness branches of FCOS-OWP, and their targets.

Center sampling and All Sampling (FCOS-OWP §3.2, Appendix B), IoU Sampling (§3.2, Figure 3).
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.utils import multi_apply
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import InstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.iou_sampling import distance_iou, iou_sampling

INF = 1e8


class ObjectnessSamplingMixin:
    """Objectness samples and targets for an :class:`~mmdet.models.dense_heads.FCOSHead`
    subclass with ``objectness``, ``objectness_sampling``, ``iou_sampling_thr`` and
    ``iou_sampling`` attributes (:class:`~mmowp.models.dense_heads.OWPFCOSHead`).

    Put it before the FCOS base. :meth:`get_objectness_targets` is the step to override.
    """

    #: ``iou_sampling`` options: the paper's hard negatives (Figure 3) or relabelling only.
    IOU_SAMPLING_MODES: Tuple[str, ...] = ('hard_negatives', 'relabel')

    def _check_sampling(self) -> None:
        """Validate ``objectness_sampling``, ``iou_sampling_thr`` and ``iou_sampling``."""
        if self.objectness_sampling not in ('center', 'all'):
            raise ValueError("objectness_sampling must be 'center' or 'all', "
                             f'got {self.objectness_sampling!r}')
        thr = self.iou_sampling_thr
        if thr is not None and not 0.0 <= float(thr) <= 1.0:
            raise ValueError(f'iou_sampling_thr must be in [0, 1] or None, got {thr}')
        if thr is not None and 'iou' not in self.objectness:
            raise ValueError('iou_sampling_thr is set but the head has no iou objectness branch '
                             f'(objectness={self.objectness})')
        if self.iou_sampling not in self.IOU_SAMPLING_MODES:
            raise ValueError(f'iou_sampling must be one of {self.IOU_SAMPLING_MODES}, '
                             f'got {self.iou_sampling!r}')

    @property
    def uses_iou_hard_negatives(self) -> bool:
        """Whether IoU Sampling adds foreground hard negatives (Figure 3) to the IoU branch.

        With All Sampling every location is trained already, so there IoU Sampling only
        relabels.
        """
        return (self.iou_sampling_thr is not None and self.iou_sampling == 'hard_negatives'
                and self.objectness_sampling == 'center')

    def get_foreground_targets(self, points: List[Tensor], batch_gt_instances: InstanceList
                               ) -> Tuple[List[Tensor], List[Tensor]]:
        """FCOS's foreground before center sampling and without a custom assigner.

        FCOS-OWP §3.2: "FCOS's existing sampling method first considers all foreground
        pixels, and sequentially applies Center Sampling". This is mmdet's
        ``FCOSHead.get_targets`` with ``center_sampling=False``: a location is foreground
        if it lies inside a GT box whose size fits the location's level (regress ranges);
        with several, the smallest box. Same layout as :meth:`get_targets`.

        Returns:
            tuple: per level, ``labels`` (``num_classes`` = not foreground) and
            ``bbox_targets`` (l, t, r, b) w.r.t. the location's foreground box.
        """
        saved = self.center_sampling, self.assigner
        self.center_sampling, self.assigner = False, None
        try:
            # FCOSHead's method, not self.get_targets: subclasses may record their targets there
            return FCOSHead.get_targets(self, points, batch_gt_instances)
        finally:
            self.center_sampling, self.assigner = saved

    def get_objectness_regions(self, points: List[Tensor],
                               batch_gt_instances: InstanceList
                               ) -> Tuple[List[Tensor], List[Tensor]]:
        """Per-location "inside a GT box" mask and the targets against that box, batched.

        Same layout as :meth:`get_targets` (per level, images concatenated; distances
        divided by the stride when ``norm_on_bbox``).

        Returns:
            tuple: ``inside_gt`` (list of bool (B*N_l,)) and ``region_targets`` (list of
            (B*N_l, 4) (l, t, r, b) w.r.t. the smallest GT box containing the location; 0
            outside every box).
        """
        num_points = [p.size(0) for p in points]
        concat_points = torch.cat(points, dim=0)
        inside_list, targets_list = multi_apply(
            self._get_objectness_regions_single, batch_gt_instances,
            points=concat_points, num_points_per_lvl=num_points)
        inside_list = [inside.split(num_points, 0) for inside in inside_list]
        targets_list = [targets.split(num_points, 0) for targets in targets_list]
        lvl_inside, lvl_targets = [], []
        for i in range(len(points)):
            lvl_inside.append(torch.cat([inside[i] for inside in inside_list]))
            targets = torch.cat([targets[i] for targets in targets_list])
            if self.norm_on_bbox:
                targets = targets / self.strides[i]
            lvl_targets.append(targets)
        return lvl_inside, lvl_targets

    def _get_objectness_regions_single(self, gt_instances: InstanceData, points: Tensor,
                                       num_points_per_lvl: List[int]) -> Tuple[Tensor, Tensor]:
        """For one image: which locations lie inside a GT box, and their (l, t, r, b)
        w.r.t. the smallest GT box containing them (no center sampling, no regress range).

        This is independent of the assigner (``_get_targets_single``), so an assigner
        mixin can change the positives without touching All Sampling's regions.

        Returns:
            tuple: ``inside`` bool (N,) and ``targets`` (N, 4), zeros where not inside.
        """
        num_points = points.size(0)
        gt_bboxes = get_box_tensor(gt_instances.bboxes)
        if len(gt_bboxes) == 0:
            return (points.new_zeros((num_points, ), dtype=torch.bool),
                    points.new_zeros((num_points, 4)))
        xs, ys = points[:, 0, None], points[:, 1, None]
        targets = torch.stack((xs - gt_bboxes[:, 0], ys - gt_bboxes[:, 1],
                               gt_bboxes[:, 2] - xs, gt_bboxes[:, 3] - ys), -1)
        inside = targets.min(-1)[0] > 0
        areas = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
        areas = torch.where(inside, areas[None], areas.new_tensor(INF))
        min_area, min_area_inds = areas.min(dim=1)
        inside_any = min_area < INF
        targets = targets[torch.arange(num_points, device=points.device), min_area_inds]
        targets = targets * inside_any[:, None]
        return inside_any, targets

    def get_objectness_targets(self, bbox_preds: Tensor, bbox_targets: Tensor, pos_mask: Tensor,
                               inside_gt: Tensor, region_targets: Tensor,
                               fg_mask: Optional[Tensor] = None,
                               fg_targets: Optional[Tensor] = None
                               ) -> Dict[str, Tuple[Tensor, Tensor]]:
        """Which locations train each objectness branch, and their targets.

        Args:
            bbox_preds (Tensor): Predicted distances (M, 4), all locations (detached
                here: the targets never carry gradient).
            bbox_targets (Tensor): Assigner's regression targets (M, 4).
            pos_mask (Tensor): Assigner's positives (M,) bool.
            inside_gt (Tensor): Location inside some GT box (M,) bool.
            region_targets (Tensor): Distances to the smallest GT box containing the
                location (M, 4).
            fg_mask (Tensor, optional): FCOS foreground (M,) bool
                (:meth:`get_foreground_targets`); needed when
                :attr:`uses_iou_hard_negatives`.
            fg_targets (Tensor, optional): Distances to the foreground box (M, 4).

        Returns:
            dict: branch name -> ``(sample_inds, targets)``: (S,) indices into the M
            locations and their (S,) targets, Eq. 1 centerness or Eq. 2 IoU after IoU
            Sampling.
        """
        bbox_preds = bbox_preds.detach()  # Eq. 2 targets never carry gradient
        if self.objectness_sampling == 'center':
            sample_inds = pos_mask.nonzero().reshape(-1)
            boxes = bbox_targets[sample_inds]
            preds = bbox_preds[sample_inds]
        else:  # 'all' (Appendix B): targets against the assigned or smallest containing box
            sample_inds = torch.arange(len(pos_mask), device=pos_mask.device)
            fg = pos_mask | inside_gt
            boxes = torch.where(pos_mask[:, None], bbox_targets, region_targets)[fg]
            preds = bbox_preds[fg]
        samples = dict()
        for branch in self.objectness:
            if branch == 'centerness':
                fg_values = self.centerness_target(boxes)
            else:
                fg_values = iou_sampling(distance_iou(preds, boxes), self.iou_sampling_thr)
            if self.objectness_sampling == 'center':
                samples[branch] = (sample_inds, fg_values)
            else:
                targets = fg_values.new_zeros(len(sample_inds))
                targets[fg] = fg_values
                samples[branch] = (sample_inds, targets)
        if 'iou' in samples and self.uses_iou_hard_negatives:
            if fg_mask is None or fg_targets is None:
                raise ValueError("iou_sampling='hard_negatives' needs fg_mask and fg_targets")
            hard = self.get_iou_hard_negatives(bbox_preds, pos_mask, fg_mask, fg_targets)
            inds, targets = samples['iou']
            samples['iou'] = (torch.cat([inds, hard]),
                              torch.cat([targets, targets.new_zeros(len(hard))]))
        return samples

    def get_iou_hard_negatives(self, bbox_preds: Tensor, pos_mask: Tensor, fg_mask: Tensor,
                               fg_targets: Tensor) -> Tensor:
        """IoU Sampling's hard negatives (FCOS-OWP Figure 3, blue +).

        Foreground locations that are not positives and whose predicted box has IoU (Eq. 2)
        below ``iou_sampling_thr`` with their foreground GT box. A location exactly at the
        threshold is not a hard negative, as :func:`iou_sampling` keeps such targets.

        Args:
            bbox_preds (Tensor): Detached predicted distances (M, 4).
            pos_mask (Tensor): Positives (M,) bool.
            fg_mask (Tensor): FCOS foreground (M,) bool.
            fg_targets (Tensor): Distances to the foreground box (M, 4).

        Returns:
            Tensor: (H,) indices into the M locations, ascending.
        """
        candidates = (fg_mask & ~pos_mask).nonzero().reshape(-1)
        iou = distance_iou(bbox_preds[candidates], fg_targets[candidates])
        return candidates[iou < self.iou_sampling_thr]

