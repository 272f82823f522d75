"""RbA (Nayal et al., ICCV 2023) on an OWP FCOS head: the outlier loss (Eq. 6), an
"unknown" class next to the known ones, and per-location unknown maps.

The RbA score modes themselves (``'rba'``, ``'iou*rej'``, ...) are score modes of any
:class:`~mmowp.models.dense_heads.OWPFCOSHead` (:mod:`mmowp.models.utils.scoring`).
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList
from mmengine.config import ConfigDict
from torch import Tensor

from ..utils.rba import outlier_location_mask
from ..utils.scoring import RBA_SCORE_MODES, ScoreMode
from .flat_batch import FlatBatch
from .owp_fcos_head import OWPFCOSHead


class RbAMixin:
    """Add RbA training and unknown detections to :class:`OWPFCOSHead` (put it first).

    Args:
        loss_rba (dict, optional): RbA outlier loss (``RbALoss``) on the locations inside
            ``img_meta['outlier_bboxes']`` (written by the ``OutlierPaste`` transform);
            needs ``train_cls=True``. Defaults to None.
        unknown_score_mode (str, optional): An RbA score mode giving unknown detections
            (label ``num_classes``) next to the known ones; needs a class-aware
            ``score_mode``. Defaults to None.
        unknown_score_thr (float): Unknown scores below it are dropped. Defaults to 0.5.
        *args, **kwargs: Arguments of the head.
    """

    def __init__(self,
                 *args,
                 loss_rba: Optional[ConfigType] = None,
                 unknown_score_mode: Optional[str] = None,
                 unknown_score_thr: float = 0.5,
                 **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.unknown_score_mode = unknown_score_mode
        self.unknown_score_thr = float(unknown_score_thr)
        self.unknown_scoring = None
        if unknown_score_mode is not None:
            if unknown_score_mode not in RBA_SCORE_MODES:
                raise ValueError(f'unknown_score_mode must be one of {RBA_SCORE_MODES}, '
                                 f'got {unknown_score_mode!r}')
            if self.class_agnostic:
                raise ValueError(f'unknown_score_mode={unknown_score_mode!r} adds an "unknown" '
                                 'class to the known ones: score_mode must be class-aware '
                                 f'(cls*...), got {self.score_mode!r}')
            self.unknown_scoring = self.parse_score_mode(unknown_score_mode,
                                                         'unknown_score_mode')
        if loss_rba is not None and not self.train_cls:
            raise ValueError('loss_rba trains the classification branch, but train_cls=False')
        self.loss_rba = MODELS.build(loss_rba) if loss_rba is not None else None
        if loss_rba is not None or unknown_score_mode is not None:
            self.check_one_sigmoid_logit_per_class('loss_rba, unknown_score_mode')

    # ------------------------------------------------------------------- train
    def loss_cls_by_feat(self, batch: FlatBatch, batch_gt_instances: InstanceList,
                         batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """The head's classification loss, plus ``loss_rba`` when configured."""
        losses = super().loss_cls_by_feat(batch, batch_gt_instances, batch_img_metas)
        if self.loss_rba is not None:
            losses['loss_rba'] = self.loss_rba_by_feat(batch, batch_img_metas)
        return losses

    def loss_rba_by_feat(self, batch: FlatBatch, batch_img_metas: List[dict]) -> Tensor:
        """RbA loss (Eq. 6) on the locations inside an outlier box of their image,
        normalised by FCOS's number of positives, as ``loss_cls``. Outlier boxes are not GT:
        for the detection losses the pasted object is background.

        Returns:
            Tensor: The loss; 0 (with a graph) when the batch has no outlier location.
        """
        if not any('outlier_bboxes' in meta for meta in batch_img_metas):
            raise KeyError('loss_rba is set but no image meta has "outlier_bboxes": add the '
                           'OutlierPaste transform to the train pipeline and "outlier_bboxes" '
                           'to PackDetInputs(meta_keys=...)')
        points = batch.points
        boxes = [torch.as_tensor(meta.get('outlier_bboxes', ()), dtype=points.dtype,
                                 device=points.device).reshape(-1, 4)
                 for meta in batch_img_metas]
        mask = outlier_location_mask(points, batch.img_inds, boxes)
        if not mask.any():
            return batch.cls_scores.sum() * 0
        return self.loss_rba(batch.cls_scores[mask], avg_factor=batch.num_pos)

    # --------------------------------------------------------------- inference
    def get_scores(self, cls_logits: Tensor,
                   objectness: Dict[str, Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """The head's scores; with ``unknown_score_mode``, the known classes' final scores
        (``cls * objectness``, before ``score_thr`` and ``nms_pre``) plus an "unknown"
        column (label ``num_classes``), 0 below ``unknown_score_thr``. NMS is per label."""
        scores, factors = super().get_scores(cls_logits, objectness)
        if self.unknown_scoring is None:
            return scores, factors
        obj = {k: v.sigmoid() for k, v in objectness.items()}
        unknown = self.unknown_scoring.agnostic_scores(cls_logits, obj)
        unknown = torch.where(unknown >= self.unknown_score_thr, unknown,
                              unknown.new_zeros(()))
        return torch.cat([scores * factors[:, None], unknown[:, None]], dim=1), None

    def predict_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None, *args, **kwargs) -> InstanceList:
        """The head's predictions, plus unknown maps when ``test_cfg.return_unknown_maps``."""
        results = super().predict_by_feat(cls_scores, bbox_preds, score_factors,
                                          batch_img_metas, cfg, *args, **kwargs)
        test_cfg = self.test_cfg if cfg is None else cfg
        mode = test_cfg.get('return_unknown_maps') if test_cfg else None
        if mode:
            self.add_unknown_maps(results, cls_scores, score_factors, mode)
        return results

    def add_unknown_maps(self, results: InstanceList, cls_scores: List[Tensor],
                         objectnesses: List[Tensor], mode: Union[bool, str]) -> None:
        """Store per-location unknown scores in each result's metainfo, for location-level
        unknown-detection metrics: ``unknown_maps`` (per level (H_l, W_l), on the CPU),
        ``unknown_strides`` and ``unknown_offset`` (location ``(j, i)`` of level ``l`` is
        at ``((j + offset) * stride, (i + offset) * stride)`` in input-image pixels).

        Args:
            results (list[InstanceData]): Per-image results (modified in place).
            cls_scores (list[Tensor]): Per level (B, num_classes, H, W) logits.
            objectnesses (list[Tensor]): Per level (B, len(objectness), H, W) logits.
            mode (bool | str): A class-agnostic score mode (an RbA mode or, as an
                objectness-only baseline, ``'iou'`` ...); True for ``unknown_score_mode``
                (else ``score_mode`` if it is an RbA mode, else ``'rba'``).
        """
        if mode is True:
            mode = self.unknown_score_mode or (
                self.score_mode if self.scoring.rba is not None else 'rba')
        if mode not in self.CLASS_AGNOSTIC_MODES:
            raise ValueError(f'test_cfg.return_unknown_maps must be True or one of '
                             f'{self.CLASS_AGNOSTIC_MODES}, got {mode!r}')
        scoring: ScoreMode = self.parse_score_mode(mode, 'test_cfg.return_unknown_maps')
        for img_id, result in enumerate(results):
            maps = []
            for cls_lvl, obj_lvl in zip(cls_scores, objectnesses):
                h, w = cls_lvl.shape[-2:]
                logits = cls_lvl[img_id].detach().permute(1, 2, 0).reshape(-1, self.num_classes)
                obj = {b: obj_lvl[img_id, k].detach().reshape(-1).sigmoid()
                       for k, b in enumerate(self.objectness)}
                maps.append(scoring.agnostic_scores(logits, obj).reshape(h, w).cpu())
            result.set_metainfo(dict(unknown_maps=maps, unknown_strides=self.level_strides,
                                     unknown_offset=float(self.prior_generator.offset)))


@MODELS.register_module()
class RbAOWPFCOSHead(RbAMixin, OWPFCOSHead):
    """:class:`OWPFCOSHead` with RbA's outlier loss, unknown detections and unknown maps
    (see :class:`RbAMixin`)."""
