"""ATSS (Zhang et al., CVPR 2020, Algorithm 1) for anchor-free, point-based heads such as FCOS.

ATSS §4.2, "Anchor-free FCOS", full version: "we let the anchor point in FCOS become the
anchor box with 8S scale to define positive and negative samples, then still regress these
positive samples to objects from the anchor point like FCOS". :class:`PointATSSAssigner` does
exactly that: it gives every location one virtual square anchor of side
``octave_base_scale * stride`` centred on the location and hands those anchors to mmdet's
:class:`~mmdet.models.task_modules.ATSSAssigner`, which implements Algorithm 1:

* per GT ``g`` and per pyramid level ``i``, the ``k`` anchors whose centres are closest (L2) to
  the centre of ``g`` form the candidates ``C_g`` (at most ``k * L`` of them);
* ``t_g = m_g + v_g``, the mean plus the (unbiased) standard deviation of the candidates' IoUs
  with ``g`` (Algorithm 1, lines 7-10);
* candidates with ``IoU >= t_g`` whose centre lies inside ``g`` are positives (lines 11-15;
  "inside" means at least 0.01 px from every side, mmdet's margin);
* an anchor selected by several GTs goes to the GT with the highest IoU; all others are
  negatives (line 17).

Outcomes of edge cases (each one is tested in ``tests/test_point_atss_assigner.py``):

* **No GT**: every location is negative (``gt_inds == 0``, ``labels == -1``).
* **GT smaller than every virtual anchor** (e.g. 4x4 px vs 64x64 px at P3): the IoUs are tiny
  but the threshold is relative, so the GT gets the best-matching locations (the finest level)
  as long as at least one location centre lies inside the box. A GT that contains no location
  centre gets no positive at all (the same holds for FCOS).
* **GT larger than the largest level's anchors**: the coarsest levels have the highest IoUs and
  supply the positives; the GT is still assigned.
* **Overlapping GTs competing for a location**: the location goes to the GT whose IoU with the
  location's virtual anchor is highest (on an exact tie, to the lower GT index, as ``max``
  returns it on CPU).
* **GT entirely outside the image** (outside the whole point grid): no location centre lies
  inside it, so it gets no positive; it claims nothing and nothing is NaN.
* **Degenerate GT** (zero width or height): IoU 0 with every anchor, no centre strictly inside,
  so no positive. A GT with ``x2 < x1`` or ``y2 < y1`` is an error (``ValueError``).
* **topk larger than the number of locations on a level** (e.g. P7 of a small image): all the
  locations of that level are candidates (mmdet takes ``min(topk, #locations)``).
* **A single candidate in total** (one level with one location, or ``topk=1`` with one level):
  the standard deviation of one IoU is undefined (NaN in torch), which would silently assign
  nothing, so this raises ``ValueError`` instead.

The returned :class:`AssignResult` follows mmdet: ``gt_inds`` 0 = negative, ``k > 0`` = the
(k-1)-th GT; ``labels`` -1 for negatives; ``max_overlaps`` the IoU with the assigned GT
(``-1e8`` for negatives, as mmdet's ATSSAssigner returns it).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmdet.models.task_modules.assigners import AssignResult, ATSSAssigner, BaseAssigner
from mmdet.registry import TASK_UTILS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import OptConfigType
from mmengine.structures import InstanceData
from torch import Tensor

StrideType = Union[int, Tuple[int, int]]


@TASK_UTILS.register_module()
class PointATSSAssigner(BaseAssigner):
    """Adaptive Training Sample Selection for point priors (ATSS, §3-4).

    Args:
        topk (int): ``k`` of Algorithm 1, the number of candidate locations per GT and per
            pyramid level. Defaults to 9 (the paper's default; Table 4 ablates 3..19).
        octave_base_scale (float): Side of a location's virtual square anchor in units of the
            level stride: the anchor is ``octave_base_scale * S`` wide (ATSS: "8S").
            Defaults to 8.
        strides (Sequence[int | tuple[int, int]], optional): Stride of each pyramid level. Only
            needed when ``pred_instances.priors`` are plain ``(x, y)`` points; priors given as
            ``(x, y, stride_w, stride_h)`` (mmdet's ``MlvlPointGenerator.grid_priors(...,
            with_stride=True)``) carry their strides. Defaults to None.
        iou_calculator (:obj:`ConfigDict` | dict): IoU calculator between the virtual anchors
            and the GTs; None means ``dict(type='BboxOverlaps2D')``. Defaults to None.
        ignore_iof_thr (float): Locations whose virtual anchor has an IoF above this with an
            ignored box (``gt_instances_ignore``) are ignored (``gt_inds == -1``). Negative
            disables it. Defaults to -1.
    """

    def __init__(self,
                 topk: int = 9,
                 octave_base_scale: float = 8.0,
                 strides: Optional[Sequence[StrideType]] = None,
                 iou_calculator: OptConfigType = None,
                 ignore_iof_thr: float = -1) -> None:
        if not isinstance(topk, int) or topk < 1:
            raise ValueError(f'PointATSSAssigner: topk must be a positive int, got {topk!r}')
        if not octave_base_scale > 0:
            raise ValueError('PointATSSAssigner: octave_base_scale must be > 0, got '
                             f'{octave_base_scale!r}')
        self.topk = topk
        self.octave_base_scale = float(octave_base_scale)
        self.strides = None if strides is None else [
            (float(s), float(s)) if isinstance(s, (int, float)) else (float(s[0]), float(s[1]))
            for s in strides
        ]
        # the selection itself is mmdet's (the reference implementation of Algorithm 1)
        if iou_calculator is None:
            iou_calculator = dict(type='BboxOverlaps2D')
        self.atss = ATSSAssigner(
            topk=topk, iou_calculator=iou_calculator, ignore_iof_thr=ignore_iof_thr)

    def prior_strides(self, priors: Tensor, num_level_priors: List[int]) -> Tensor:
        """Per-location ``(stride_w, stride_h)``, shape (N, 2).

        Args:
            priors (Tensor): (N, 2) points ``(x, y)`` or (N, 4) ``(x, y, stride_w, stride_h)``.
            num_level_priors (list[int]): Number of locations of each level, in order.

        Returns:
            Tensor: The strides of every location.
        """
        if priors.dim() != 2 or priors.size(1) not in (2, 4):
            raise ValueError('PointATSSAssigner: priors must have shape (N, 2) (x, y) or (N, 4) '
                             f'(x, y, stride_w, stride_h), got {tuple(priors.shape)}')
        if sum(num_level_priors) != priors.size(0):
            raise ValueError(f'PointATSSAssigner: num_level_priors {list(num_level_priors)} sum '
                             f'to {sum(num_level_priors)}, but there are {priors.size(0)} priors')
        if priors.size(1) == 4:
            return priors[:, 2:4]
        if self.strides is None:
            raise ValueError('PointATSSAssigner: priors are plain (x, y) points, so the '
                             'assigner needs `strides` (one per level) in its config')
        if len(self.strides) != len(num_level_priors):
            raise ValueError(f'PointATSSAssigner: {len(self.strides)} strides configured but '
                             f'{len(num_level_priors)} levels in num_level_priors')
        per_level = priors.new_tensor(self.strides)
        return per_level.repeat_interleave(
            torch.as_tensor(num_level_priors, device=priors.device), dim=0)

    def virtual_anchors(self, priors: Tensor, num_level_priors: List[int]) -> Tensor:
        """One square anchor of side ``octave_base_scale * stride`` centred on each location.

        Args:
            priors (Tensor): (N, 2) or (N, 4) point priors, see :meth:`prior_strides`.
            num_level_priors (list[int]): Number of locations of each level.

        Returns:
            Tensor: (N, 4) anchors ``(x1, y1, x2, y2)``.
        """
        half = self.prior_strides(priors, num_level_priors) * (self.octave_base_scale / 2)
        centers = priors[:, :2]
        return torch.cat([centers - half, centers + half], dim=1)

    def assign(self,
               pred_instances: InstanceData,
               num_level_priors: List[int],
               gt_instances: InstanceData,
               gt_instances_ignore: Optional[InstanceData] = None) -> AssignResult:
        """Assign GTs to locations with ATSS on their virtual anchors.

        Args:
            pred_instances (:obj:`InstanceData`): ``priors`` of shape (N, 2) ``(x, y)`` or
                (N, 4) ``(x, y, stride_w, stride_h)``, level by level.
            num_level_priors (list[int]): Number of locations of each level.
            gt_instances (:obj:`InstanceData`): ``bboxes`` (G, 4) ``(x1, y1, x2, y2)`` and
                ``labels`` (G,).
            gt_instances_ignore (:obj:`InstanceData`, optional): ``bboxes`` to ignore.

        Returns:
            :obj:`AssignResult`: mmdet's assignment (see the module docstring).
        """
        priors = pred_instances.priors
        gt_bboxes = get_box_tensor(gt_instances.bboxes)
        bad = (gt_bboxes[:, 2] < gt_bboxes[:, 0]) | (gt_bboxes[:, 3] < gt_bboxes[:, 1])
        if bool(bad.any()):
            raise ValueError('PointATSSAssigner: GT boxes must be (x1, y1, x2, y2) with x2 >= x1 '
                             f'and y2 >= y1; invalid: {gt_bboxes[bad].tolist()}')
        num_candidates = sum(min(self.topk, n) for n in num_level_priors)
        if len(gt_bboxes) > 0 and num_candidates < 2:
            raise ValueError(
                f'PointATSSAssigner: topk={self.topk} on levels with {list(num_level_priors)} '
                'locations gives fewer than 2 candidates per GT; the IoU threshold mean + std '
                'is undefined')
        anchors = self.virtual_anchors(priors, num_level_priors)
        gt_instances = InstanceData(bboxes=gt_bboxes, labels=gt_instances.labels)
        return self.atss.assign(
            InstanceData(priors=anchors), num_level_priors, gt_instances, gt_instances_ignore)
