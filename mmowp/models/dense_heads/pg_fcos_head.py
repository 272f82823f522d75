"""Heads trained with the policy-gradient detector's loss (Rao et al., CVPR 2018, Algorithm 1).

:class:`PolicyGradientMixin` adds a ``loss_pg`` (default ``dict(type='PolicyGradientLoss')``,
:class:`~mmowp.models.losses.PolicyGradientLoss`) to :class:`OWPFCOSHead` as its
classification step: it reads the labels the head assigned (so assigners such as ATSS are
honoured and nothing is assigned twice) and the decoded boxes from the head's flattened batch,
and then

* ``replace_loss_cls=True`` (Algorithm 1 step 9: the policy gradient ``g_cls`` replaces the
  classification gradient, ``gamma`` keeps a cross-entropy term): returns ``loss_pg`` only;
* ``replace_loss_cls=False``: returns ``loss_pg`` beside the head's ``loss_cls``.

``loss_bbox`` and the objectness losses are the head's (step 7). The loss's log scalars
(``pg_baseline_ap``, ``pg_sample_ap``, ``pg_mean_reward``, ``pg_pos_adv_frac``) are returned in
the loss dict; their names hold no ``loss``, so MMEngine logs them without adding them to the
total loss.

Registered heads: :class:`PGOWPFCOSHead` (candidates ranked by cls times the ``score_mode``
objectness, e.g. cls * IoU) and :class:`PGFCOSHead` (the same with the head's defaults, which
are mmdet's FCOS: cls * centerness).
"""
from typing import Dict, List, Optional

import torch
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList
from torch import Tensor

from .flat_batch import FlatBatch
from .owp_fcos_head import OWPFCOSHead


class PolicyGradientMixin:
    """Give :class:`OWPFCOSHead` the policy-gradient classification loss (put it first).

    The head must train a sigmoid classifier and score with it (a ``cls*`` score mode).

    Args:
        loss_pg (dict): Config of the policy-gradient loss. Defaults to
            ``dict(type='PolicyGradientLoss')`` (k = 10, gamma = 1, COCO IoU thresholds).
        replace_loss_cls (bool): Drop the head's ``loss_cls`` (True, the paper) or keep it
            beside ``loss_pg`` (False). Defaults to True.
        *args, **kwargs: Arguments of the head.
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
        name = type(self).__name__
        if not self.use_sigmoid_cls:
            raise ValueError(f'{name}: the policy-gradient loss needs a sigmoid classifier '
                             '(loss_cls with use_sigmoid=True)')
        if not self.train_cls:
            raise ValueError(f'{name}: train_cls=False freezes the classifier, which the '
                             'policy-gradient loss trains; set train_cls=True')
        if self.class_agnostic:
            raise ValueError(f'{name}: score_mode={self.score_mode!r} ignores the classifier '
                             'that the policy-gradient loss trains; use a cls* mode')

    def loss_cls_by_feat(self, batch: FlatBatch, batch_gt_instances: InstanceList,
                         batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """``loss_pg`` and its log scalars, beside or instead of the head's ``loss_cls``."""
        losses = {} if self.replace_loss_cls else super().loss_cls_by_feat(
            batch, batch_gt_instances, batch_img_metas)
        bboxes = self.decode_bboxes(batch)
        img_wh = bboxes.new_tensor([[m['img_shape'][1], m['img_shape'][0]]
                                    for m in batch_img_metas])[batch.img_inds]
        bboxes = torch.minimum(bboxes.clamp(min=0), img_wh.repeat(1, 2))  # clip as inference
        loss_pg, log_vars = self.loss_pg(
            batch.cls_scores, bboxes, batch.labels, batch.img_inds, batch_gt_instances,
            score_factors=self.get_pg_score_factors(batch))
        losses['loss_pg'] = loss_pg
        losses.update(log_vars)
        return losses

    def get_pg_score_factors(self, batch: FlatBatch) -> Optional[Tensor]:
        """(M,) factors in [0, 1] multiplied into ``p_b`` to rank candidates: the
        ``score_mode`` objectness (FCOS: the sigmoid centerness)."""
        return self.scoring.objectness_factor(self.objectness_probs(batch))


@MODELS.register_module()
class PGOWPFCOSHead(PolicyGradientMixin, OWPFCOSHead):
    """:class:`OWPFCOSHead` (OWP-aware, ``train_cls=True``) with the policy-gradient loss;
    candidates ranked by cls times the head's ``score_mode`` objectness (e.g. ``'cls*iou'``).
    """


@MODELS.register_module()
class PGFCOSHead(PGOWPFCOSHead):
    """mmdet's FCOS (the defaults of :class:`OWPFCOSHead`, cls * centerness) with the
    policy-gradient loss; takes :class:`~mmdet.models.dense_heads.FCOSHead`'s arguments."""
