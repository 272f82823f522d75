"""Inference of a head with objectness branches: scores per ``score_mode``, top-k, NMS.

FCOS-OWP §3.1: "The top 2000 proposals whose scores are above some defined threshold are
passed to NMS" (``test_cfg.nms_pre_scope='image'``).
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
from mmdet.models.utils import filter_scores_and_topk
from mmdet.utils import InstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor


class ObjectnessPredictionMixin:
    """``predict_by_feat`` for an :class:`~mmdet.models.dense_heads.FCOSHead` subclass whose
    ``score_factors`` are objectness logits, one channel per branch of ``self.objectness``,
    and whose ``scoring`` is a parsed :class:`~mmowp.models.utils.scoring.ScoreMode`
    (:class:`~mmowp.models.dense_heads.OWPFCOSHead`).

    Put it before the FCOS base. :meth:`get_scores` is the step to override.
    """

    #: ``test_cfg.nms_pre_scope`` options: top ``nms_pre`` per FPN level (mmdet) or per image.
    NMS_PRE_SCOPES: Tuple[str, ...] = ('level', 'image')

    def cls_probabilities(self, cls_logits: Tensor) -> Tensor:
        """(N, num_classes) class probabilities, as mmdet's dense heads compute them."""
        if getattr(self.loss_cls, 'custom_cls_channels', False):
            return self.loss_cls.get_activation(cls_logits)
        if self.use_sigmoid_cls:
            return cls_logits.sigmoid()
        return cls_logits.softmax(-1)[:, :-1]

    def get_scores(self, cls_logits: Tensor,
                   objectness: Dict[str, Tensor]) -> Tuple[Tensor, Optional[Tensor]]:
        """Turn one level's logits into scores, per ``score_mode``.

        Args:
            cls_logits (Tensor): (N, cls_out_channels) classification logits.
            objectness (dict[str, Tensor]): Branch name -> (N,) objectness logits.

        Returns:
            tuple: ``scores`` (N, K) in [0, 1] used for ``score_thr`` and ``nms_pre``
            (K = 1 for class-agnostic modes), and ``factors`` (N,) in [0, 1] multiplied
            into the kept scores before NMS, or None (mmdet's ``score_factors``).
        """
        obj = {k: v.sigmoid() for k, v in objectness.items()}
        if self.scoring.class_agnostic:
            return self.scoring.agnostic_scores(cls_logits, obj)[:, None], None
        return self.cls_probabilities(cls_logits), self.scoring.objectness_factor(obj)

    def predict_by_feat(self,
                        cls_scores: List[Tensor],
                        bbox_preds: List[Tensor],
                        score_factors: Optional[List[Tensor]] = None,
                        batch_img_metas: Optional[List[dict]] = None,
                        cfg: Optional[ConfigDict] = None,
                        rescale: bool = False,
                        with_nms: bool = True,
                        return_objectness_maps: Optional[bool] = None) -> InstanceList:
        """mmdet's ``predict_by_feat``; ``score_factors`` are the objectness logits.

        Args:
            return_objectness_maps (bool, optional): Also store, in each result's metainfo,
                ``objectness_maps`` (dict branch -> list per level of (H_l, W_l) sigmoid
                maps) and ``objectness_strides`` (per level). None reads
                ``test_cfg.return_objectness_maps`` (default False).
            Others: see :meth:`mmdet.models.dense_heads.BaseDenseHead.predict_by_feat`.
        """
        if score_factors is None:
            raise ValueError(f'{type(self).__name__}.predict_by_feat needs the objectness '
                             'outputs (score_factors)')
        results = super().predict_by_feat(cls_scores, bbox_preds, score_factors,
                                          batch_img_metas, cfg, rescale, with_nms)
        if return_objectness_maps is None:
            test_cfg = self.test_cfg if cfg is None else cfg
            return_objectness_maps = bool(test_cfg and test_cfg.get('return_objectness_maps'))
        if return_objectness_maps:
            for img_id, result in enumerate(results):
                maps = {
                    branch: [lvl[img_id, k].detach().sigmoid() for lvl in score_factors]
                    for k, branch in enumerate(self.objectness)
                }
                result.set_metainfo(dict(objectness_maps=maps,
                                         objectness_strides=self.level_strides))
        return results

    @property
    def level_strides(self) -> Tuple[int, ...]:
        """One stride per level (the prior generator's, width)."""
        return tuple(s[0] if isinstance(s, (tuple, list)) else s
                     for s in self.prior_generator.strides)

    def _level_candidates(self, cls_score: Tensor, bbox_pred: Tensor, objectness: Tensor,
                          priors: Tensor, score_thr: float, nms_pre: int) -> Dict[str, Tensor]:
        """One level of one image: :meth:`get_scores`, then mmdet's ``score_thr`` and
        per-level top ``nms_pre`` (``filter_scores_and_topk``).

        Returns:
            dict: ``scores``, ``labels``, ``bbox_pred``, ``priors`` (and ``factors`` when the
            score mode has them) of the kept candidates.
        """
        assert cls_score.size()[-2:] == bbox_pred.size()[-2:]
        bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
        cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
        objectness = objectness.permute(1, 2, 0).reshape(-1, len(self.objectness))
        scores, factors = self.get_scores(
            cls_score, {b: objectness[:, k] for k, b in enumerate(self.objectness)})
        keep = dict(bbox_pred=bbox_pred, priors=priors)
        if factors is not None:
            keep['factors'] = factors
        scores, labels, _, kept = filter_scores_and_topk(scores, score_thr, nms_pre, keep)
        return dict(kept, scores=scores, labels=labels)

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """One image: :meth:`_level_candidates` per level, decoding, then mmdet's
        ``_bbox_post_process`` (score factors, ``min_bbox_size``, NMS, ``max_per_img``).

        ``cfg.nms_pre_scope='image'`` keeps the top ``nms_pre`` over all levels together
        (FCOS-OWP §3.1); ``'level'`` (default) keeps ``nms_pre`` per level, as mmdet.
        Mirrors mmdet's ``FCOSHead._predict_by_feat_single`` (via ``BaseDenseHead``), whose
        score step cannot be overridden on its own."""
        cfg = copy.deepcopy(self.test_cfg if cfg is None else cfg)
        nms_pre = cfg.get('nms_pre', -1)
        nms_pre_scope = cfg.get('nms_pre_scope', 'level')
        if nms_pre_scope not in self.NMS_PRE_SCOPES:
            raise ValueError(f'test_cfg.nms_pre_scope must be one of {self.NMS_PRE_SCOPES}, '
                             f'got {nms_pre_scope!r}')
        levels = [
            self._level_candidates(*level, score_thr=cfg.get('score_thr', 0), nms_pre=nms_pre)
            for level in zip(cls_score_list, bbox_pred_list, score_factor_list, mlvl_priors)
        ]
        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(
            torch.cat([lvl['priors'] for lvl in levels]),
            torch.cat([lvl['bbox_pred'] for lvl in levels]), max_shape=img_meta['img_shape'])
        results.scores = torch.cat([lvl['scores'] for lvl in levels])
        results.labels = torch.cat([lvl['labels'] for lvl in levels])
        if 'factors' in levels[0]:
            results.score_factors = torch.cat([lvl['factors'] for lvl in levels])
        if nms_pre_scope == 'image' and 0 < nms_pre < len(results):
            # the top nms_pre overall lie within the per-level top nms_pre kept above
            results = results[results.scores.topk(nms_pre).indices]
        return self._bbox_post_process(
            results=results, cfg=cfg, rescale=rescale, with_nms=with_nms, img_meta=img_meta)
