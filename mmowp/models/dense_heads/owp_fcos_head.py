"""FCOS head for Open-World Proposals (FCOS-OWP §3.1-3.2, Figures 1-3, Eq. 1-2, App. B).

Design notes (sampling, conditional inputs, frozen classifier, score modes):
``docs/owp_fcos_head.md``.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import Scale
from mmdet.models.dense_heads import FCOSHead
from mmdet.registry import MODELS
from mmdet.utils import ConfigType, InstanceList, OptInstanceList, reduce_mean
from torch import Tensor

from ..utils.scoring import ScoreMode, all_score_modes
from .assigner_mixin import AssignerMixin
from .flat_batch import FlatBatch
from .objectness_prediction import ObjectnessPredictionMixin
from .objectness_sampling import ObjectnessSamplingMixin

#: Objectness branches, in the channel order of the head's objectness output.
OBJECTNESS_BRANCHES = ('centerness', 'iou')


@MODELS.register_module()
class OWPFCOSHead(ObjectnessPredictionMixin, ObjectnessSamplingMixin, AssignerMixin,
                  FCOSHead):
    """FCOS head with the open-world-proposal objectness of FCOS-OWP.

    mmdet's :class:`~mmdet.models.dense_heads.FCOSHead` plus IoU and conditional
    objectness branches, their sampling (center / All Sampling, IoU Sampling), a frozen
    classifier and the score modes of :mod:`mmowp.models.utils.scoring`. With the defaults
    it computes exactly what ``FCOSHead`` computes. Positives come from
    ``train_cfg.assigner`` when given (:class:`AssignerMixin`, e.g. ATSS).

    Args:
        num_classes (int): Number of (base) categories.
        in_channels (int): Channels of the input feature maps.
        objectness (Sequence[str]): Branches to build and train, a non-empty subset of
            ``('centerness', 'iou')``; channel k of the objectness output is the k-th in
            that order. Defaults to ``('centerness',)``.
        conditional (bool): Branches read the regression tower and the detached
            regression output (Figure 2). Defaults to False.
        objectness_sampling (str): ``'center'`` (the assigner's positives) or ``'all'``
            (Appendix B). Defaults to ``'center'``.
        iou_sampling_thr (float, optional): IoU Sampling threshold (0.3 in the paper);
            None disables it. Defaults to None.
        iou_sampling (str): ``'hard_negatives'`` (Figure 3) or ``'relabel'``.
            Defaults to ``'hard_negatives'``.
        score_mode (str): A score mode (:func:`~mmowp.models.utils.scoring.all_score_modes`).
            Defaults to ``'cls*centerness'``.
        train_cls (bool): Train the classification branch. Defaults to True.
        loss_iou (dict, optional): Loss of the IoU branch; None means BCE.
        **kwargs: Arguments of :class:`~mmdet.models.dense_heads.FCOSHead`
            (``loss_centerness`` is the loss of the centerness branch).
    """

    #: Score modes understood by :meth:`get_scores`.
    SCORE_MODES: Tuple[str, ...] = all_score_modes()
    #: Score modes that ignore the classifier: one class, "object", at inference.
    CLASS_AGNOSTIC_MODES: Tuple[str, ...] = tuple(
        m for m in SCORE_MODES if ScoreMode.parse(m).class_agnostic)

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 objectness: Union[str, Sequence[str]] = ('centerness', ),
                 conditional: bool = False,
                 objectness_sampling: str = 'center',
                 iou_sampling_thr: Optional[float] = None,
                 iou_sampling: str = 'hard_negatives',
                 score_mode: str = 'cls*centerness',
                 train_cls: bool = True,
                 loss_iou: Optional[ConfigType] = None,
                 **kwargs) -> None:
        self.objectness = self._check_objectness(objectness)
        self.conditional = conditional
        self.objectness_sampling = objectness_sampling
        self.iou_sampling_thr = iou_sampling_thr
        self.iou_sampling = iou_sampling
        self.score_mode = score_mode
        self.train_cls = train_cls
        self._check_sampling()
        self.scoring = self.parse_score_mode(score_mode, 'score_mode')
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        if not train_cls and not (self.centerness_on_reg or conditional):
            raise ValueError('train_cls=False freezes the classification tower, but the '
                             'objectness branches read it: set centerness_on_reg=True (or '
                             'conditional=True) so that they read the regression tower')
        if self.scoring.rba is not None:
            self.check_one_sigmoid_logit_per_class(f'score_mode={score_mode!r}')
        if self.test_cfg and self.test_cfg.get('return_unknown_maps') and not hasattr(
                self, 'add_unknown_maps'):
            raise ValueError(f'test_cfg.return_unknown_maps needs an RbA head '
                             f'(RbAOWPFCOSHead), not {type(self).__name__}')
        if loss_iou is None:
            loss_iou = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        self.loss_iou = MODELS.build(loss_iou) if 'iou' in self.objectness else None
        if not train_cls:
            self._freeze_cls_branch()

    # ------------------------------------------------------------------ checks
    @staticmethod
    def _check_objectness(objectness: Union[str, Sequence[str]]) -> Tuple[str, ...]:
        """The branches in canonical order (channel k of the output is always the same)."""
        if isinstance(objectness, str):
            objectness = (objectness, )
        unknown = [b for b in objectness if b not in OBJECTNESS_BRANCHES]
        if unknown or not objectness:
            raise ValueError(f'objectness must be a non-empty subset of {OBJECTNESS_BRANCHES}, '
                             f'got {tuple(objectness)}')
        return tuple(b for b in OBJECTNESS_BRANCHES if b in objectness)

    def parse_score_mode(self, mode: str, key: str) -> ScoreMode:
        """Parse a score mode of config key ``key`` and check the head has its branches."""
        if mode not in self.SCORE_MODES:
            raise ValueError(f'{key} must be one of {self.SCORE_MODES}, got {mode!r}')
        parsed = ScoreMode.parse(mode)
        for branch in parsed.branches:
            if branch not in self.objectness:
                raise ValueError(f'{key}={mode!r} needs the {branch!r} objectness branch, '
                                 f'but objectness={self.objectness}')
        return parsed

    def check_one_sigmoid_logit_per_class(self, what: str) -> None:
        """RbA reads K one-vs-all logits: refuse a softmax or custom classifier."""
        if not self.use_sigmoid_cls or getattr(self.loss_cls, 'custom_cls_channels', False):
            raise ValueError(f'RbA ({what}) needs one sigmoid logit per class (loss_cls with '
                             'use_sigmoid=True)')

    @property
    def class_agnostic(self) -> bool:
        """Whether inference returns one class, "object", ignoring the classifier."""
        return self.scoring.class_agnostic

    # ------------------------------------------------------------------ layers
    def _init_layers(self) -> None:
        """FCOS layers, plus the IoU branch; conditional branches take ``C + 4`` channels."""
        super()._init_layers()
        obj_in = self.feat_channels + 4 if self.conditional else self.feat_channels
        if 'centerness' not in self.objectness:
            del self.conv_centerness
        elif self.conditional:
            self.conv_centerness = nn.Conv2d(obj_in, 1, 3, padding=1)
        if 'iou' in self.objectness:
            self.conv_iou = nn.Conv2d(obj_in, 1, 3, padding=1)

    def _freeze_cls_branch(self) -> None:
        """``train_cls=False``: no gradient for ``cls_convs`` and ``conv_cls``."""
        for module in (self.cls_convs, self.conv_cls):
            for param in module.parameters():
                param.requires_grad_(False)

    # ----------------------------------------------------------------- forward
    def forward_single(self, x: Tensor, scale: Scale, stride: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Forward one level.

        Returns:
            tuple: ``cls_score`` (B, num_classes, H, W), ``bbox_pred`` (B, 4, H, W) as
            FCOS, and ``objectness`` (B, len(objectness), H, W) logits, one channel per
            branch in the order of ``self.objectness``.
        """
        with torch.set_grad_enabled(self.train_cls and torch.is_grad_enabled()):
            cls_feat = x
            for cls_layer in self.cls_convs:
                cls_feat = cls_layer(cls_feat)
            cls_score = self.conv_cls(cls_feat)
        reg_feat = x
        for reg_layer in self.reg_convs:
            reg_feat = reg_layer(reg_feat)
        # as FCOSHead: float to avoid overflow when enabling FP16
        bbox_pred = scale(self.conv_reg(reg_feat)).float()
        objectness = self.forward_objectness(cls_feat, reg_feat, bbox_pred)
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred *= stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, objectness

    def forward_objectness(self, cls_feat: Tensor, reg_feat: Tensor, reg_out: Tensor) -> Tensor:
        """Objectness logits of one level.

        Args:
            cls_feat (Tensor): Classification tower output (B, C, H, W).
            reg_feat (Tensor): Regression tower output (B, C, H, W).
            reg_out (Tensor): Regression output after ``Scale``, before ``exp``/``clamp``
                (B, 4, H, W); used (detached) by the conditional head only.

        Returns:
            Tensor: (B, len(self.objectness), H, W) logits.
        """
        convs = [getattr(self, f'conv_{branch}') for branch in self.objectness]
        if self.conditional:
            reg_copy = reg_out.detach().to(reg_feat.dtype)
            outs = [self._conditional_conv(conv, reg_feat, reg_copy) for conv in convs]
        else:
            feat = reg_feat if self.centerness_on_reg else cls_feat
            outs = [conv(feat) for conv in convs]
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    @staticmethod
    def _conditional_conv(conv: nn.Conv2d, feat: Tensor, reg_copy: Tensor) -> Tensor:
        """``conv(cat([feat, reg_copy], 1))`` (Figure 2) without materialising the concat.

        A convolution over concatenated channels is the sum of the convolutions of each part
        with its slice of the weight; computing it that way saves copying the C-channel
        feature map at every level. ``conv`` has ``C + 4`` input channels.
        """
        c = feat.size(1)
        w = conv.weight
        out = F.conv2d(feat, w[:, :c], conv.bias, conv.stride, conv.padding, conv.dilation)
        return out + F.conv2d(reg_copy, w[:, c:], None, conv.stride, conv.padding,
                              conv.dilation)

    # ------------------------------------------------------------------- train
    def loss_by_feat(
        self,
        cls_scores: List[Tensor],
        bbox_preds: List[Tensor],
        objectnesses: List[Tensor],
        batch_gt_instances: InstanceList,
        batch_img_metas: List[dict],
        batch_gt_instances_ignore: OptInstanceList = None
    ) -> Dict[str, Tensor]:
        """Losses: ``loss_cls`` (if ``train_cls``), ``loss_bbox`` (as FCOS) and one loss per
        objectness branch (``loss_centerness``, ``loss_iou``).

        Args:
            cls_scores, bbox_preds (list[Tensor]): Per level, as in FCOSHead.
            objectnesses (list[Tensor]): Per level, (B, len(objectness), H, W) logits.
            batch_gt_instances (list[InstanceData]): GT ``bboxes`` and ``labels``.
            batch_img_metas (list[dict]): Image metas.
            batch_gt_instances_ignore: Unused, as in FCOSHead.

        Returns:
            dict[str, Tensor]: The losses.
        """
        assert len(cls_scores) == len(bbox_preds) == len(objectnesses)
        batch = self.flatten_batch(cls_scores, bbox_preds, objectnesses, batch_gt_instances)
        losses = dict()
        if self.train_cls:
            losses.update(self.loss_cls_by_feat(batch, batch_gt_instances, batch_img_metas))
        losses['loss_bbox'] = self.loss_bbox_by_feat(batch)
        losses.update(self.loss_objectness_by_feat(batch))
        return losses

    def flatten_batch(self, cls_scores: List[Tensor], bbox_preds: List[Tensor],
                      objectnesses: List[Tensor], batch_gt_instances: InstanceList) -> FlatBatch:
        """Outputs, locations and targets of the batch, flattened once for every loss."""
        featmap_sizes = [featmap.size()[-2:] for featmap in bbox_preds]
        mlvl_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(mlvl_points, batch_gt_instances)
        inside_gt, region_targets = self.get_objectness_regions(mlvl_points, batch_gt_instances)
        num_imgs = bbox_preds[0].size(0)
        device = bbox_preds[0].device

        def flat(outs: List[Tensor], channels: int) -> Tensor:
            return torch.cat([o.permute(0, 2, 3, 1).reshape(-1, channels) for o in outs])

        sizes = [len(p) * num_imgs for p in mlvl_points]
        labels = torch.cat(labels)
        pos_mask = (labels >= 0) & (labels < self.num_classes)
        num_pos = torch.tensor(int(pos_mask.sum()), dtype=torch.float, device=device)
        batch = FlatBatch(
            mlvl_points=mlvl_points,
            points=torch.cat([p.repeat(num_imgs, 1) for p in mlvl_points]),
            strides=torch.cat([
                torch.full((n, ), float(s), device=device) for n, s in zip(sizes, self.strides)
            ]),
            img_inds=torch.cat([  # layout: level, then image, then location
                torch.arange(num_imgs, device=device).repeat_interleave(len(p))
                for p in mlvl_points
            ]),
            cls_scores=flat(cls_scores, self.cls_out_channels),
            bbox_preds=flat(bbox_preds, 4),
            objectness=flat(objectnesses, len(self.objectness)),
            labels=labels,
            bbox_targets=torch.cat(bbox_targets),
            pos_mask=pos_mask,
            num_pos=max(reduce_mean(num_pos), 1.0),
            inside_gt=torch.cat(inside_gt),
            region_targets=torch.cat(region_targets))
        if self.uses_iou_hard_negatives:
            fg_labels, fg_targets = self.get_foreground_targets(mlvl_points, batch_gt_instances)
            batch.fg_mask = torch.cat(fg_labels) < self.num_classes
            batch.fg_targets = torch.cat(fg_targets)
        return batch

    def decode_bboxes(self, batch: FlatBatch) -> Tensor:
        """(M, 4) detached predicted boxes (x1, y1, x2, y2) in input-image pixels."""
        distances = batch.bbox_preds.detach()
        if self.norm_on_bbox:  # training outputs are in stride units
            distances = distances * batch.strides[:, None]
        return self.bbox_coder.decode(batch.points, distances)

    def objectness_probs(self, batch: FlatBatch) -> Dict[str, Tensor]:
        """Branch name -> (M,) detached sigmoid objectness."""
        return {b: batch.objectness[:, k].detach().sigmoid()
                for k, b in enumerate(self.objectness)}

    def loss_cls_by_feat(self, batch: FlatBatch, batch_gt_instances: InstanceList,
                         batch_img_metas: List[dict]) -> Dict[str, Tensor]:
        """Classification loss: FCOS's ``loss_cls(cls_scores, labels, avg_factor=num_pos)``.

        A loss module with ``uses_head_context = True`` (e.g. Unknown Object Masking) is also
        given ``objectness`` (dict branch -> (M,) detached probabilities), ``bboxes`` (M, 4)
        detached decoded boxes in pixels, ``points`` (M, 2), ``inside_gt`` (M,) and
        ``img_inds`` (M,). Mixins extend this step (RbA, policy gradient).

        Returns:
            dict[str, Tensor]: ``loss_cls`` (and the loss's accuracy when it has one).
        """
        kwargs = dict()
        if getattr(self.loss_cls, 'uses_head_context', False):
            kwargs = dict(objectness=self.objectness_probs(batch),
                          bboxes=self.decode_bboxes(batch), points=batch.points,
                          inside_gt=batch.inside_gt, img_inds=batch.img_inds)
        losses = dict(loss_cls=self.loss_cls(batch.cls_scores, batch.labels,
                                             avg_factor=batch.num_pos, **kwargs))
        if getattr(self.loss_cls, 'custom_accuracy', False):
            losses.update(self.loss_cls.get_accuracy(batch.cls_scores, batch.labels))
        return losses

    def loss_bbox_by_feat(self, batch: FlatBatch) -> Tensor:
        """FCOS's centerness-weighted IoU loss on the positives (as ``FCOSHead.loss_by_feat``)."""
        pos_inds = batch.pos_inds
        pos_bbox_preds = batch.bbox_preds[pos_inds]
        pos_bbox_targets = batch.bbox_targets[pos_inds]
        pos_centerness_targets = self.centerness_target(pos_bbox_targets)
        centerness_denorm = max(reduce_mean(pos_centerness_targets.sum().detach()), 1e-6)
        if len(pos_inds) == 0:
            return pos_bbox_preds.sum()
        pos_points = batch.points[pos_inds]
        return self.loss_bbox(
            self.bbox_coder.decode(pos_points, pos_bbox_preds),
            self.bbox_coder.decode(pos_points, pos_bbox_targets),
            weight=pos_centerness_targets,
            avg_factor=centerness_denorm)

    def loss_objectness_by_feat(self, batch: FlatBatch) -> Dict[str, Tensor]:
        """One loss per branch, the mean over the locations that train it."""
        samples = self.get_objectness_targets(
            batch.bbox_preds.detach(), batch.bbox_targets, batch.pos_mask, batch.inside_gt,
            batch.region_targets, batch.fg_mask, batch.fg_targets)
        losses = dict()
        for k, branch in enumerate(self.objectness):
            loss_fn = self.loss_centerness if branch == 'centerness' else self.loss_iou
            sample_inds, targets = samples[branch]
            pred = batch.objectness[sample_inds, k]
            if len(sample_inds) == 0:
                losses[f'loss_{branch}'] = pred.sum()
                continue
            num_sampled = torch.tensor(len(sample_inds), dtype=torch.float, device=pred.device)
            losses[f'loss_{branch}'] = loss_fn(pred, targets,
                                               avg_factor=max(reduce_mean(num_sampled), 1.0))
        return losses
