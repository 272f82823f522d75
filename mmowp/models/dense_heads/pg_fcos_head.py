"""FCOS-style heads trained with seed 004's policy-gradient loss (Algorithm 1).

:class:`PolicyGradientMixin` adds a ``loss_pg`` (default
``dict(type='PolicyGradientLoss')``, :class:`~mmowp.models.losses.PolicyGradientLoss`) to any
:class:`~mmdet.models.dense_heads.FCOSHead` subclass, without editing it: it lets the head compute
its own losses, reads the labels that the head's ``get_targets`` assigned (so assigners such as
ATSS are honoured and nothing is assigned twice), decodes the predicted boxes, and then

* ``replace_loss_cls=True`` (seed 004, Algorithm 1 step 9: the policy gradient ``g_cls``
  replaces the classification gradient, ``gamma`` keeps a cross-entropy term): drops
  ``loss_cls`` and returns ``loss_pg``;
* ``replace_loss_cls=False``: returns ``loss_pg`` beside the head's ``loss_cls``.

``loss_bbox`` and the centerness / objectness losses are the head's (step 7). The loss's log
scalars (``pg_baseline_ap``, ``pg_sample_ap``, ``pg_mean_reward``, ``pg_pos_adv_frac``) are
returned in the loss dict; their names hold no ``loss``, so MMEngine logs them every iteration
without adding them to the total loss.

Registered heads: :class:`PGFCOSHead` (mixin + mmdet's ``FCOSHead``, ranking by
cls * centerness) and :class:`PGOWPFCOSHead` (mixin + :class:`OWPFCOSHead`, ranking by the
``score_mode`` factor of the OWP-aware head, e.g. cls * IoU).
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from torch import Tensor

from .owp_fcos_head import OWPFCOSHead


class PolicyGradientMixin:
    """Give an ``FCOSHead`` subclass the policy-gradient classification loss of seed 004.

    Put it before the FCOS base: ``class MyHead(PolicyGradientMixin, FCOSHead)``. The head must
    use a sigmoid classifier (FCOS's focal loss) and train it.

    Args:
        loss_pg (dict): Config of the policy-gradient loss. Defaults to
            ``dict(type='PolicyGradientLoss')`` (k = 10, gamma = 1, COCO IoU thresholds).
        replace_loss_cls (bool): Drop the head's ``loss_cls`` (True, the paper) or keep it
            beside ``loss_pg`` (False). Defaults to True.
        *args, **kwargs: Arguments of the FCOS head.
    """

    def __init__(self,
                 *args,
                 loss_pg: Optional[ConfigType] = None,
                 replace_loss_cls: bool = True,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.loss_pg = MODELS.build(dict(type='PolicyGradientLoss') if loss_pg is None
                                    else loss_pg)
        self.replace_loss_cls = replace_loss_cls
        self._pg_labels: Optional[List[Tensor]] = None
        if not self.use_sigmoid_cls:
            raise ValueError(f'{type(self).__name__}: the policy-gradient loss needs a sigmoid '
                             'classifier (loss_cls with use_sigmoid=True)')
        if not getattr(self, 'train_cls', True):
            raise ValueError(f'{type(self).__name__}: train_cls=False freezes the classifier, '
                             'which the policy-gradient loss trains; set train_cls=True')

    def get_targets(self, points: List[Tensor],
                    batch_gt_instances: InstanceList) -> Tuple[List[Tensor], List[Tensor]]:
        """The head's ``get_targets``; the labels are kept for :meth:`loss_by_feat`."""
        labels, bbox_targets = super().get_targets(points, batch_gt_instances)
        self._pg_labels = labels
        return labels, bbox_targets

    def get_pg_score_factors(self, score_factors: List[Tensor]) -> Optional[Tensor]:
        """Per-location factors in [0, 1] multiplied into ``p_b`` to rank candidates, flattened
        as the labels (level, image, location); FCOS: the sigmoid centerness.

        Args:
            score_factors (list[Tensor]): The head's third output per level (B, 1, H, W).
        """
        return torch.cat([f.detach().permute(0, 2, 3, 1).reshape(-1) for f in score_factors
                          ]).sigmoid()

    def loss_by_feat(self,
                     cls_scores: List[Tensor],
                     bbox_preds: List[Tensor],
                     score_factors: List[Tensor],
                     batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """The head's losses, with ``loss_pg`` beside or instead of ``loss_cls``.

        Args: as ``FCOSHead.loss_by_feat`` (``score_factors`` = centernesses or objectness).

        Returns:
            dict[str, Tensor]: Losses and the policy-gradient log scalars.
        """
        self._pg_labels = None
        losses = super().loss_by_feat(cls_scores, bbox_preds, score_factors,
                                      batch_gt_instances, batch_img_metas,
                                      batch_gt_instances_ignore)
        labels, self._pg_labels = self._pg_labels, None
        if labels is None:
            raise RuntimeError(f'{type(self).__name__}.loss_by_feat: the base head did not call '
                               'get_targets, so the policy-gradient loss has no labels')
        num_imgs = cls_scores[0].size(0)
        featmap_sizes = [f.size()[-2:] for f in cls_scores]
        mlvl_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        flat_cls = torch.cat([c.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
                              for c in cls_scores])
        flat_dist = torch.cat([b.detach().permute(0, 2, 3, 1).reshape(-1, 4) for b in bbox_preds])
        flat_points = torch.cat([p.repeat(num_imgs, 1) for p in mlvl_points])
        if self.norm_on_bbox:  # training outputs are in stride units
            strides = torch.cat([
                p.new_full((len(p) * num_imgs, 1), float(s))
                for p, s in zip(mlvl_points, self.strides)
            ])
            flat_dist = flat_dist * strides
        img_inds = torch.cat([  # layout: level, then image, then location
            torch.arange(num_imgs, device=flat_cls.device).repeat_interleave(len(p))
            for p in mlvl_points
        ])
        bboxes = self.bbox_coder.decode(flat_points, flat_dist)
        img_wh = flat_dist.new_tensor([[m['img_shape'][1], m['img_shape'][0]]
                                       for m in batch_img_metas])[img_inds]
        bboxes = torch.minimum(bboxes.clamp(min=0), img_wh.repeat(1, 2))  # clip as inference
        loss_pg, log_vars = self.loss_pg(
            flat_cls, bboxes, torch.cat(labels), img_inds, batch_gt_instances,
            score_factors=self.get_pg_score_factors(score_factors))
        if self.replace_loss_cls:
            losses.pop('loss_cls', None)
        losses['loss_pg'] = loss_pg
        losses.update(log_vars)
        return losses


@MODELS.register_module()
class PGFCOSHead(PolicyGradientMixin, FCOSHead):
    """mmdet's ``FCOSHead`` with the policy-gradient loss (see :class:`PolicyGradientMixin`);
    candidates ranked by cls * centerness, as FCOS inference."""


@MODELS.register_module()
class PGOWPFCOSHead(PolicyGradientMixin, OWPFCOSHead):
    """:class:`OWPFCOSHead` (OWP-aware, ``train_cls=True``) with the policy-gradient loss;
    candidates ranked by cls times the head's ``score_mode`` factor (e.g. ``'cls*iou'``).

    Raises:
        ValueError: for class-agnostic score modes (the classifier does not score proposals).
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.class_agnostic:
            raise ValueError(f'PGOWPFCOSHead: score_mode={self.score_mode!r} ignores the '
                             'classifier that the policy-gradient loss trains; use a cls* mode')

    def get_pg_score_factors(self, score_factors: List[Tensor]) -> Optional[Tensor]:
        """The objectness factor of ``score_mode`` (``get_scores``' second output)."""
        num_obj = len(self.objectness)
        flat = torch.cat([f.detach().permute(0, 2, 3, 1).reshape(-1, num_obj)
                          for f in score_factors])
        obj = {branch: flat[:, k] for k, branch in enumerate(self.objectness)}
        _, factors = self.get_scores(flat.new_zeros((len(flat), 1)), obj)
        return factors
