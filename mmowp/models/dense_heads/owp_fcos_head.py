"""FCOS head for Open-World Proposals (seed 000 §3.1–3.2, Figures 1–3, Eq. 1–2, App. B)."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import Scale
from mmdet.models.dense_heads import FCOSHead
from mmdet.models.utils import filter_scores_and_topk, multi_apply
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmdet.utils import ConfigType, InstanceList, OptInstanceList, reduce_mean
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.iou_sampling import distance_iou, iou_sampling
from ..utils.rba import (
    RBA_SCORE_MODES,
    UNKNOWN_MAP_MODES,
    class_agnostic_scores,
    outlier_location_mask,
    rba_mode_scores,
)
from .assigner_mixin import AssignerMixin

INF = 1e8

#: Objectness branches, in the channel order of the head's objectness output.
OBJECTNESS_BRANCHES = ('centerness', 'iou')


@MODELS.register_module()
class OWPFCOSHead(AssignerMixin, FCOSHead):
    """FCOS head with the open-world-proposal objectness of seed 000.

    Everything not listed below is mmdet's :class:`~mmdet.models.dense_heads.FCOSHead`
    (towers, regression, center sampling, ``get_targets``/``_get_targets_single``, losses,
    post-processing). The positives come from ``train_cfg.assigner`` when one is given
    (:class:`~mmowp.models.dense_heads.AssignerMixin`, e.g. ATSS), else from FCOS's rule.
    With ``objectness=('centerness',)``, ``conditional=False``,
    ``objectness_sampling='center'``, ``iou_sampling_thr=None``, ``train_cls=True`` and
    ``score_mode='cls*centerness'`` it computes exactly what ``FCOSHead`` computes.

    **Objectness branches** (Figure 1). Each branch is a 3x3 conv predicting one logit per
    location, trained with BCE: ``centerness`` (target Eq. 1, :meth:`centerness_target`) and
    ``iou`` (target Eq. 2, :func:`~mmowp.models.utils.distance_iou` between the *detached*
    predicted distances and the target distances of the location). They read the
    regression tower when ``centerness_on_reg=True`` (needed with ``train_cls=False``),
    else the classification tower, as FCOS's centerness does.

    **Conditional objectness** (Figure 2, ``conditional=True``). The branches read the
    regression tower's feature map concatenated with a copy of the regression prediction
    at that location, ``feat_channels + 4`` channels (256 + 4 in the paper). The 4 channels
    are the regression output after the level's ``Scale`` and before ``exp`` (i.e. the
    log-distances, bounded, rather than distances of hundreds of pixels) and are
    **detached**: the branch sees the box it scores, but the objectness loss does not move
    that box — its IoU target is computed on the detached prediction, and letting the BCE
    loss pull the regression output towards boxes whose quality is easy to predict would
    fight the regression loss. The objectness loss still trains the regression *tower*
    through the ``feat_channels`` feature channels.

    **Sampling** (which locations train objectness). ``'center'``: the positives of the
    assigner (FCOS center sampling, radius 1.5), as FCOS trains centerness. ``'all'``
    (Appendix B): every location; a location inside a GT box gets the target computed
    against the box it is assigned to (the assigner's box for positives, else the smallest
    GT box containing it, FCOS's ambiguity rule), any other location gets 0. The loss is
    averaged over the trained locations of that branch.
    **IoU Sampling** (``iou_sampling_thr``, FCOS-OWP §3.2, Figure 3): "sets the IOU of
    pixels within the ground-truth whom have IOU < 0.3 to 0.0 [...] Our final sample
    procedure consists of sampling all pixels post center sampling and IOU Sampling".
    With ``iou_sampling='hard_negatives'`` (default; Figure 3's blue +) the IoU branch
    trains on the positives (IoU targets below the threshold become 0) *plus* every FCOS
    foreground location (inside a GT box, in the level FCOS's regress ranges give it,
    before center sampling) whose predicted box has IoU below the threshold with that GT
    box, target 0. ``'relabel'`` only zeroes the positives' targets below the threshold.
    Centerness targets are never changed. See :meth:`get_objectness_targets`.

    **Scoring** (``score_mode``). ``'cls*centerness'`` (FCOS), ``'cls*iou'`` and
    ``'cls*sqrt(centerness*iou)'`` keep the classes: as in mmdet's FCOS, ``score_thr`` and
    ``nms_pre`` select locations by classification probability and the objectness factor
    multiplies the score before NMS. ``'centerness'``, ``'iou'`` and
    ``'sqrt(centerness*iou)'`` are class-agnostic: one class, "object" (label 0), selected
    and ranked by objectness alone. ``nms_pre`` (2000), ``max_per_img`` (100 COCO / 300
    LVIS) and NMS come from ``test_cfg`` as in mmdet.

    **Frozen classifier** (``train_cls=False``, the OWP recipe of §4). ``conv_cls`` and the
    classification tower ``cls_convs`` get ``requires_grad=False`` and run without autograd,
    and ``loss_cls`` is not computed. Their ``.grad`` stays ``None``, so SGD (weight decay
    and momentum included) never updates them; no hook is needed. The objectness branches
    must then read the regression tower (``centerness_on_reg=True`` or
    ``conditional=True``).

    **RbA scoring** (seed 002 §3.3; :mod:`mmowp.models.utils.rba`). The sigmoid class branch
    is K one-vs-all classifiers per location, so ``RbA(x) = -sum_k tanh(L_k(x))`` (Eq. 5)
    scores "rejected by all known classes". Class-agnostic modes (one class, label 0,
    selected and ranked by the score, no ``score_factors``), with ``K = num_classes``:

    * ``'rba'``: ``(RbA + K) / (2K)`` in [0, 1] (Eq. 5, affinely normalised).
    * ``'rej'``: ``clamp(1 - sum_k tanh(max(L_k, 0)), 0, 1)``, the rejection probability
      (Eq. 4 on the positive part of the logits): 1 when every class rejects (logit <= 0).
    * ``'<obj>*rba'`` and ``'<obj>*rej'`` with ``<obj>`` in ``'centerness'``, ``'iou'``,
      ``'sqrt(centerness*iou)'``: objectness times the above, "an object, and no known
      class" -- the unknown-object score to try first is ``'iou*rej'`` (``'*rba'`` barely
      re-ranks the objectness when K is large, see :mod:`mmowp.models.utils.rba`).

    **Known + unknown detections in one pass** (``unknown_score_mode``, one of the RbA modes
    above, with a class-aware ``score_mode``). Each location gets ``num_classes + 1`` scores:
    the known classes' ``cls * objectness`` (the ``score_mode`` product, *before* ``score_thr``
    and ``nms_pre``, unlike the known-only modes, which threshold the class probability and
    multiply the objectness after), and, as label ``num_classes`` ("unknown"), the
    ``unknown_score_mode`` score, set to 0 below ``unknown_score_thr`` (so that a location
    confidently of a known class does not also produce an unknown box). NMS is per label, as
    mmdet's. Evaluators that only know the dataset's classes (mmdet's ``CocoMetric``,
    ``OpenWorldCocoMetric``) reject label ``num_classes``; use
    :class:`~mmowp.evaluation.UnknownDetectionMetric` with such a model.

    **RbA loss** (``loss_rba``, seed 002 §3.4, Eq. 6; e.g. ``dict(type='RbALoss',
    alpha=5.0)``). Outlier locations are the locations (all levels) inside an outlier box
    of their image; the boxes come from ``img_meta['outlier_bboxes']`` ((B, 4) x1y1x2y2 in
    input-image pixels, written by the ``OutlierPaste`` transform and carried by
    ``PackDetInputs(meta_keys=(..., 'outlier_bboxes'))``). The loss is given the logits of
    those locations only and normalised by FCOS's number of positives, as ``loss_cls``.
    Outlier boxes are not GT: for the detection losses the pasted object is background.

    Extension points (small methods meant to be overridden): :meth:`get_objectness_targets`
    (per-location objectness targets, IoU Sampling), :meth:`loss_cls_by_feat`
    (classification loss with access to objectness, decoded boxes and the inside-GT mask),
    :meth:`get_scores` (score modes), :meth:`_get_objectness_regions_single` (per-image
    inside-GT mask and box for All Sampling; mmdet's ``_get_targets_single`` is untouched).

    Args:
        num_classes (int): Number of (base) categories.
        in_channels (int): Channels of the input feature maps.
        objectness (Sequence[str]): Objectness branches to build and train, a non-empty
            subset of ``('centerness', 'iou')``. The objectness output has one channel per
            branch in that order. Defaults to ``('centerness',)``.
        conditional (bool): Conditional objectness (Figure 2). Defaults to False.
        objectness_sampling (str): ``'center'`` or ``'all'``. Defaults to ``'center'``.
        iou_sampling_thr (float, optional): IoU Sampling threshold (0.3 in the paper);
            ``None`` disables it. Defaults to None.
        iou_sampling (str): ``'hard_negatives'`` (FCOS-OWP Figure 3) or ``'relabel'``.
            Used when ``iou_sampling_thr`` is set. Defaults to ``'hard_negatives'``.
        score_mode (str): One of :attr:`SCORE_MODES`. Defaults to ``'cls*centerness'``.
        train_cls (bool): Whether the classification branch is trained. Defaults to True.
        loss_iou (dict, optional): Loss of the IoU branch; None means BCE
            (``CrossEntropyLoss`` with ``use_sigmoid=True``, weight 1).
        loss_rba (dict, optional): RbA outlier loss (``RbALoss``) on the locations inside
            ``img_meta['outlier_bboxes']``; needs ``train_cls=True``. Defaults to None.
        unknown_score_mode (str, optional): An RbA score mode (:data:`RBA_SCORE_MODES`)
            giving unknown detections (label ``num_classes``) next to the known ones; needs a
            class-aware ``score_mode``. Defaults to None (known classes only).
        unknown_score_thr (float): Unknown scores below it are dropped. Defaults to 0.5.
        **kwargs: Arguments of :class:`~mmdet.models.dense_heads.FCOSHead`
            (``loss_centerness`` is the loss of the centerness branch).
    """

    #: ``iou_sampling`` options: the paper's hard negatives (Figure 3) or relabelling only.
    IOU_SAMPLING_MODES: Tuple[str, ...] = ('hard_negatives', 'relabel')
    #: ``test_cfg.nms_pre_scope`` options: top ``nms_pre`` per FPN level (mmdet) or per image.
    NMS_PRE_SCOPES: Tuple[str, ...] = ('level', 'image')
    #: Score modes understood by :meth:`get_scores`.
    SCORE_MODES: Tuple[str, ...] = ('cls*centerness', 'centerness', 'iou',
                                    'sqrt(centerness*iou)', 'cls*iou',
                                    'cls*sqrt(centerness*iou)') + RBA_SCORE_MODES
    #: Score modes that ignore the classifier: one class, "object", at inference.
    CLASS_AGNOSTIC_MODES: Tuple[str, ...] = ('centerness', 'iou',
                                             'sqrt(centerness*iou)') + RBA_SCORE_MODES

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
                 loss_rba: Optional[ConfigType] = None,
                 unknown_score_mode: Optional[str] = None,
                 unknown_score_thr: float = 0.5,
                 **kwargs) -> None:
        if loss_iou is None:
            loss_iou = dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)
        if isinstance(objectness, str):
            objectness = (objectness, )
        unknown = [b for b in objectness if b not in OBJECTNESS_BRANCHES]
        if unknown or not objectness:
            raise ValueError(f'objectness must be a non-empty subset of {OBJECTNESS_BRANCHES}, '
                             f'got {tuple(objectness)}')
        # canonical order, so that channel k of the objectness output is always the same
        self.objectness = tuple(b for b in OBJECTNESS_BRANCHES if b in objectness)
        if objectness_sampling not in ('center', 'all'):
            raise ValueError("objectness_sampling must be 'center' or 'all', "
                             f'got {objectness_sampling!r}')
        if iou_sampling_thr is not None and not 0.0 <= float(iou_sampling_thr) <= 1.0:
            raise ValueError(f'iou_sampling_thr must be in [0, 1] or None, got {iou_sampling_thr}')
        if iou_sampling_thr is not None and 'iou' not in self.objectness:
            raise ValueError('iou_sampling_thr is set but the head has no iou objectness branch '
                             f'(objectness={self.objectness})')
        if iou_sampling not in self.IOU_SAMPLING_MODES:
            raise ValueError(f'iou_sampling must be one of {self.IOU_SAMPLING_MODES}, '
                             f'got {iou_sampling!r}')
        self.conditional = conditional
        self.objectness_sampling = objectness_sampling
        self.iou_sampling_thr = iou_sampling_thr
        self.iou_sampling = iou_sampling
        self.score_mode = score_mode
        self.train_cls = train_cls
        self.unknown_score_mode = unknown_score_mode
        self.unknown_score_thr = float(unknown_score_thr)
        self._check_score_mode()
        if loss_rba is not None and not train_cls:
            raise ValueError('loss_rba trains the classification branch, but train_cls=False')
        super().__init__(num_classes=num_classes, in_channels=in_channels, **kwargs)
        if not train_cls and not (self.centerness_on_reg or conditional):
            raise ValueError('train_cls=False freezes the classification tower, but the '
                             'objectness branches read it: set centerness_on_reg=True (or '
                             'conditional=True) so that they read the regression tower')
        self.loss_iou = MODELS.build(loss_iou) if 'iou' in self.objectness else None
        self.loss_rba = MODELS.build(loss_rba) if loss_rba is not None else None
        uses_rba = loss_rba is not None or unknown_score_mode is not None or any(
            n in score_mode for n in ('rba', 'rej'))
        if uses_rba and (not self.use_sigmoid_cls
                         or getattr(self.loss_cls, 'custom_cls_channels', False)):
            raise ValueError('RbA (score modes *rba/*rej, unknown_score_mode, loss_rba) needs '
                             'one sigmoid logit per class (loss_cls with use_sigmoid=True)')
        if not train_cls:
            self._freeze_cls_branch()

    # ------------------------------------------------------------------ layers
    def _check_score_mode(self) -> None:
        """Validate ``score_mode`` against :attr:`SCORE_MODES` and the built branches."""
        if self.score_mode not in self.SCORE_MODES:
            raise ValueError(f'score_mode must be one of {self.SCORE_MODES}, '
                             f'got {self.score_mode!r}')
        for branch in OBJECTNESS_BRANCHES:
            if branch in self.score_mode and branch not in self.objectness:
                raise ValueError(f'score_mode={self.score_mode!r} needs the {branch!r} '
                                 f'objectness branch, but objectness={self.objectness}')
        mode = self.unknown_score_mode
        if mode is not None:
            if mode not in RBA_SCORE_MODES:
                raise ValueError(f'unknown_score_mode must be one of {RBA_SCORE_MODES}, '
                                 f'got {mode!r}')
            if self.score_mode in self.CLASS_AGNOSTIC_MODES:
                raise ValueError(f'unknown_score_mode={mode!r} adds an "unknown" class to the '
                                 'known ones: score_mode must be class-aware (cls*...), got '
                                 f'{self.score_mode!r}')
            for branch in OBJECTNESS_BRANCHES:
                if branch in mode and branch not in self.objectness:
                    raise ValueError(f'unknown_score_mode={mode!r} needs the {branch!r} '
                                     f'objectness branch, but objectness={self.objectness}')

    @property
    def class_agnostic(self) -> bool:
        """Whether inference returns one class, "object", ignoring the classifier."""
        return self.score_mode in self.CLASS_AGNOSTIC_MODES

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
        """Losses: ``loss_cls`` (if ``train_cls``), ``loss_bbox`` (as FCOS) and one BCE
        loss per objectness branch (``loss_centerness``, ``loss_iou``).

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
        featmap_sizes = [featmap.size()[-2:] for featmap in bbox_preds]
        all_level_points = self.prior_generator.grid_priors(
            featmap_sizes, dtype=bbox_preds[0].dtype, device=bbox_preds[0].device)
        labels, bbox_targets = self.get_targets(all_level_points, batch_gt_instances)
        inside_gt, region_targets = self.get_objectness_regions(all_level_points,
                                                                batch_gt_instances)

        num_imgs = bbox_preds[0].size(0)
        num_obj = len(self.objectness)
        flatten_cls_scores = torch.cat([
            cls_score.permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels)
            for cls_score in cls_scores
        ])
        flatten_bbox_preds = torch.cat(
            [bbox_pred.permute(0, 2, 3, 1).reshape(-1, 4) for bbox_pred in bbox_preds])
        flatten_objectness = torch.cat(
            [obj.permute(0, 2, 3, 1).reshape(-1, num_obj) for obj in objectnesses])
        flatten_labels = torch.cat(labels)
        flatten_bbox_targets = torch.cat(bbox_targets)
        flatten_inside_gt = torch.cat(inside_gt)
        flatten_region_targets = torch.cat(region_targets)
        flatten_points = torch.cat([points.repeat(num_imgs, 1) for points in all_level_points])

        losses = dict()
        # FG cat_id: [0, num_classes -1], BG cat_id: num_classes
        bg_class_ind = self.num_classes
        pos_mask = (flatten_labels >= 0) & (flatten_labels < bg_class_ind)
        pos_inds = pos_mask.nonzero().reshape(-1)
        num_pos = torch.tensor(len(pos_inds), dtype=torch.float, device=bbox_preds[0].device)
        num_pos = max(reduce_mean(num_pos), 1.0)

        if self.train_cls:
            obj_dict = {
                branch: flatten_objectness[:, k]
                for k, branch in enumerate(self.objectness)
            }
            losses['loss_cls'] = self.loss_cls_by_feat(
                flatten_cls_scores, flatten_labels, num_pos, obj_dict, flatten_points,
                flatten_bbox_preds, flatten_inside_gt, all_level_points)
            if getattr(self.loss_cls, 'custom_accuracy', False):
                losses.update(self.loss_cls.get_accuracy(flatten_cls_scores, flatten_labels))
            if self.loss_rba is not None:
                losses['loss_rba'] = self.loss_rba_by_feat(
                    flatten_cls_scores, flatten_points, all_level_points, batch_img_metas,
                    num_pos)

        pos_bbox_preds = flatten_bbox_preds[pos_inds]
        pos_bbox_targets = flatten_bbox_targets[pos_inds]
        pos_centerness_targets = self.centerness_target(pos_bbox_targets)
        # centerness weighted iou loss, as FCOS
        centerness_denorm = max(reduce_mean(pos_centerness_targets.sum().detach()), 1e-6)
        if len(pos_inds) > 0:
            pos_points = flatten_points[pos_inds]
            pos_decoded_bbox_preds = self.bbox_coder.decode(pos_points, pos_bbox_preds)
            pos_decoded_target_preds = self.bbox_coder.decode(pos_points, pos_bbox_targets)
            losses['loss_bbox'] = self.loss_bbox(
                pos_decoded_bbox_preds,
                pos_decoded_target_preds,
                weight=pos_centerness_targets,
                avg_factor=centerness_denorm)
        else:
            losses['loss_bbox'] = pos_bbox_preds.sum()

        if self.uses_iou_hard_negatives:
            fg_labels, fg_targets = self.get_foreground_targets(all_level_points,
                                                                batch_gt_instances)
            fg_mask = torch.cat(fg_labels) < bg_class_ind
            fg_targets = torch.cat(fg_targets)
        else:
            fg_mask = fg_targets = None
        obj_samples = self.get_objectness_targets(
            flatten_bbox_preds.detach(), flatten_bbox_targets, pos_mask, flatten_inside_gt,
            flatten_region_targets, fg_mask, fg_targets)
        for k, branch in enumerate(self.objectness):
            loss_fn = self.loss_centerness if branch == 'centerness' else self.loss_iou
            sample_inds, targets = obj_samples[branch]
            pred = flatten_objectness[sample_inds, k]
            if len(sample_inds) > 0:
                num_sampled = torch.tensor(len(sample_inds), dtype=torch.float,
                                           device=pred.device)
                losses[f'loss_{branch}'] = loss_fn(
                    pred, targets, avg_factor=max(reduce_mean(num_sampled), 1.0))
            else:
                losses[f'loss_{branch}'] = pred.sum()
        return losses

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

    def loss_cls_by_feat(self, cls_scores: Tensor, labels: Tensor, avg_factor: float,
                         objectness: Dict[str, Tensor], points: Tensor, bbox_preds: Tensor,
                         inside_gt: Tensor, mlvl_points: List[Tensor]) -> Tensor:
        """Classification loss on flattened locations (all images, all levels).

        FCOS's ``loss_cls(cls_scores, labels, avg_factor=num_pos)``. When the loss module
        has ``uses_head_context = True`` (e.g. an Unknown Object Masking wrapper), it is
        also given, as keyword arguments, ``objectness`` (dict branch -> (M,) detached
        sigmoid probabilities), ``bboxes`` (M, 4) detached decoded predicted boxes in image
        pixels (x1, y1, x2, y2), ``points`` (M, 2), ``inside_gt`` (M,) bool and
        ``img_inds`` (M,) long, the image of each location.

        Args:
            cls_scores (Tensor): (M, num_classes) logits.
            labels (Tensor): (M,) labels, ``num_classes`` for background.
            avg_factor (float): Number of positives (FCOS normalisation).
            objectness (dict[str, Tensor]): Branch name -> (M,) logits.
            points (Tensor): (M, 2) location coordinates.
            bbox_preds (Tensor): (M, 4) predicted distances (stride units if
                ``norm_on_bbox``).
            inside_gt (Tensor): (M,) bool, location inside any GT box.
            mlvl_points (list[Tensor]): Points per level, to recover strides.

        Returns:
            Tensor: The classification loss.
        """
        if not getattr(self.loss_cls, 'uses_head_context', False):
            return self.loss_cls(cls_scores, labels, avg_factor=avg_factor)
        distances = bbox_preds.detach()
        if self.norm_on_bbox:
            num_imgs = len(points) // sum(len(p) for p in mlvl_points)
            strides = torch.cat([
                p.new_full((len(p) * num_imgs, 1), float(s))
                for p, s in zip(mlvl_points, self.strides)
            ])
            distances = distances * strides
        num_imgs = len(points) // sum(len(p) for p in mlvl_points)
        img_inds = torch.cat([  # layout: level, then image, then location
            torch.arange(num_imgs, device=points.device).repeat_interleave(len(p))
            for p in mlvl_points
        ])
        context = dict(
            objectness={k: v.detach().sigmoid() for k, v in objectness.items()},
            bboxes=self.bbox_coder.decode(points, distances),
            points=points,
            inside_gt=inside_gt,
            img_inds=img_inds)
        return self.loss_cls(cls_scores, labels, avg_factor=avg_factor, **context)

    def loss_rba_by_feat(self, cls_scores: Tensor, points: Tensor, mlvl_points: List[Tensor],
                         batch_img_metas: List[dict], avg_factor: float) -> Tensor:
        """RbA loss (Eq. 6 of seed 002) on the locations inside an outlier box.

        Args:
            cls_scores (Tensor): (M, num_classes) logits, flattened as in
                :meth:`loss_cls_by_feat` (level, then image, then location).
            points (Tensor): (M, 2) location coordinates.
            mlvl_points (list[Tensor]): Points per level.
            batch_img_metas (list[dict]): Image metas with ``outlier_bboxes``.
            avg_factor (float): Number of positives (FCOS normalisation).

        Returns:
            Tensor: The loss; 0 (with a graph) when the batch has no outlier location.
        """
        if not any('outlier_bboxes' in meta for meta in batch_img_metas):
            raise KeyError('loss_rba is set but no image meta has "outlier_bboxes": add the '
                           'OutlierPaste transform to the train pipeline and "outlier_bboxes" '
                           'to PackDetInputs(meta_keys=...)')
        num_imgs = len(batch_img_metas)
        img_inds = torch.cat([
            torch.arange(num_imgs, device=points.device).repeat_interleave(len(p))
            for p in mlvl_points
        ])
        boxes = [torch.as_tensor(meta.get('outlier_bboxes', ()), dtype=points.dtype,
                                 device=points.device).reshape(-1, 4)
                 for meta in batch_img_metas]
        mask = outlier_location_mask(points, img_inds, boxes)
        if not mask.any():
            return cls_scores.sum() * 0
        return self.loss_rba(cls_scores[mask], avg_factor=avg_factor)

    # --------------------------------------------------------------- inference
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
        mode = self.score_mode
        obj = {k: v.sigmoid() for k, v in objectness.items()}
        if mode in RBA_SCORE_MODES:
            return rba_mode_scores(mode, cls_logits, obj)[:, None], None
        if mode in ('centerness', 'iou'):
            return obj[mode][:, None], None
        if mode == 'sqrt(centerness*iou)':
            return torch.sqrt(obj['centerness'] * obj['iou'])[:, None], None
        if getattr(self.loss_cls, 'custom_cls_channels', False):
            cls_probs = self.loss_cls.get_activation(cls_logits)
        elif self.use_sigmoid_cls:
            cls_probs = cls_logits.sigmoid()
        else:
            cls_probs = cls_logits.softmax(-1)[:, :-1]
        if mode == 'cls*centerness':
            factors = obj['centerness']
        elif mode == 'cls*iou':
            factors = obj['iou']
        elif mode == 'cls*sqrt(centerness*iou)':
            factors = torch.sqrt(obj['centerness'] * obj['iou'])
        else:
            raise ValueError(f'score_mode {mode!r} is not handled by '
                             f'{type(self).__name__}.get_scores')
        if self.unknown_score_mode is None:
            return cls_probs, factors
        return self.add_unknown_scores(cls_probs * factors[:, None], cls_logits, obj), None

    def add_unknown_scores(self, known_scores: Tensor, cls_logits: Tensor,
                           obj_probs: Dict[str, Tensor]) -> Tensor:
        """Append the "unknown" column (label ``num_classes``) to the known scores.

        Args:
            known_scores (Tensor): (N, num_classes) final known-class scores.
            cls_logits (Tensor): (N, num_classes) logits.
            obj_probs (dict[str, Tensor]): Objectness branch -> (N,) probabilities.

        Returns:
            Tensor: (N, num_classes + 1); the last column is the ``unknown_score_mode``
            score, 0 where below ``unknown_score_thr``.
        """
        unknown = rba_mode_scores(self.unknown_score_mode, cls_logits, obj_probs)
        unknown = torch.where(unknown >= self.unknown_score_thr, unknown,
                              unknown.new_zeros(()))
        return torch.cat([known_scores, unknown[:, None]], dim=1)

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
            strides = tuple(s[0] if isinstance(s, (tuple, list)) else s
                            for s in self.prior_generator.strides)
            for img_id, result in enumerate(results):
                maps = {
                    branch: [lvl[img_id, k].detach().sigmoid() for lvl in score_factors]
                    for k, branch in enumerate(self.objectness)
                }
                result.set_metainfo(dict(objectness_maps=maps, objectness_strides=strides))
        test_cfg = self.test_cfg if cfg is None else cfg
        unknown_maps = test_cfg.get('return_unknown_maps') if test_cfg else None
        if unknown_maps:
            self.add_unknown_maps(results, cls_scores, score_factors, unknown_maps)
        return results

    def add_unknown_maps(self, results: InstanceList, cls_scores: List[Tensor],
                         objectnesses: List[Tensor], mode: Union[bool, str]) -> None:
        """Store per-location unknown scores in each result's metainfo (``test_cfg.
        return_unknown_maps``), for location-level unknown-detection metrics.

        Stored: ``unknown_maps`` (list per level of (H_l, W_l) scores, on the CPU),
        ``unknown_strides`` (per level) and ``unknown_offset`` (the prior generator's point
        offset: location ``(j, i)`` of level ``l`` is at ``((j + offset) * stride,
        (i + offset) * stride)`` in input-image pixels).

        Args:
            results (list[InstanceData]): Per-image results (modified in place).
            cls_scores (list[Tensor]): Per level (B, num_classes, H, W) logits.
            objectnesses (list[Tensor]): Per level (B, len(objectness), H, W) logits.
            mode (bool | str): An RbA score mode or, as an objectness-only baseline,
                ``'centerness'``/``'iou'``/``'sqrt(centerness*iou)'``; True for
                ``unknown_score_mode`` (else ``score_mode`` if it is an RbA mode, else
                ``'rba'``).
        """
        if mode is True:
            mode = self.unknown_score_mode or (
                self.score_mode if self.score_mode in RBA_SCORE_MODES else 'rba')
        if mode not in UNKNOWN_MAP_MODES:
            raise ValueError(f'test_cfg.return_unknown_maps must be True or one of '
                             f'{UNKNOWN_MAP_MODES}, got {mode!r}')
        for branch in OBJECTNESS_BRANCHES:
            if branch in mode and branch not in self.objectness:
                raise ValueError(f'test_cfg.return_unknown_maps={mode!r} needs the {branch!r} '
                                 f'objectness branch, but objectness={self.objectness}')
        strides = tuple(s[0] if isinstance(s, (tuple, list)) else s
                        for s in self.prior_generator.strides)
        for img_id, result in enumerate(results):
            maps = []
            for cls_lvl, obj_lvl in zip(cls_scores, objectnesses):
                h, w = cls_lvl.shape[-2:]
                logits = cls_lvl[img_id].detach().permute(1, 2, 0).reshape(-1, self.num_classes)
                obj = {b: obj_lvl[img_id, k].detach().reshape(-1).sigmoid()
                       for k, b in enumerate(self.objectness)}
                maps.append(class_agnostic_scores(mode, logits, obj).reshape(h, w).cpu())
            result.set_metainfo(dict(unknown_maps=maps, unknown_strides=strides,
                                     unknown_offset=float(self.prior_generator.offset)))

    def _predict_by_feat_single(self,
                                cls_score_list: List[Tensor],
                                bbox_pred_list: List[Tensor],
                                score_factor_list: List[Tensor],
                                mlvl_priors: List[Tensor],
                                img_meta: dict,
                                cfg: ConfigDict,
                                rescale: bool = False,
                                with_nms: bool = True) -> InstanceData:
        """One image: scores from :meth:`get_scores`, then mmdet's top-k, decoding and
        ``_bbox_post_process`` (score factors, ``min_bbox_size``, NMS, ``max_per_img``).

        ``cfg.nms_pre_scope='image'`` keeps the top ``nms_pre`` over all levels together
        (FCOS-OWP §3.1: "The top 2000 proposals whose scores are above some defined
        threshold are passed to NMS"); ``'level'`` (default) keeps ``nms_pre`` per level, as
        mmdet. Mirrors mmdet's ``FCOSHead._predict_by_feat_single`` (via
        ``BaseDenseHead``), whose score step cannot be overridden on its own."""
        cfg = self.test_cfg if cfg is None else cfg
        cfg = copy.deepcopy(cfg)
        img_shape = img_meta['img_shape']
        nms_pre = cfg.get('nms_pre', -1)
        nms_pre_scope = cfg.get('nms_pre_scope', 'level')
        if nms_pre_scope not in self.NMS_PRE_SCOPES:
            raise ValueError(f'test_cfg.nms_pre_scope must be one of {self.NMS_PRE_SCOPES}, '
                             f'got {nms_pre_scope!r}')
        score_thr = cfg.get('score_thr', 0)
        num_obj = len(self.objectness)

        mlvl_bbox_preds, mlvl_priors_kept, mlvl_scores, mlvl_labels = [], [], [], []
        mlvl_factors = []
        for cls_score, bbox_pred, objectness, priors in zip(cls_score_list, bbox_pred_list,
                                                             score_factor_list, mlvl_priors):
            assert cls_score.size()[-2:] == bbox_pred.size()[-2:]
            bbox_pred = bbox_pred.permute(1, 2, 0).reshape(-1, self.bbox_coder.encode_size)
            cls_score = cls_score.permute(1, 2, 0).reshape(-1, self.cls_out_channels)
            objectness = objectness.permute(1, 2, 0).reshape(-1, num_obj)
            scores, factors = self.get_scores(
                cls_score, {b: objectness[:, k] for k, b in enumerate(self.objectness)})
            keep = dict(bbox_pred=bbox_pred, priors=priors)
            if factors is not None:
                keep['factors'] = factors
            scores, labels, _, kept = filter_scores_and_topk(scores, score_thr, nms_pre, keep)
            mlvl_bbox_preds.append(kept['bbox_pred'])
            mlvl_priors_kept.append(kept['priors'])
            mlvl_scores.append(scores)
            mlvl_labels.append(labels)
            if factors is not None:
                mlvl_factors.append(kept['factors'])

        results = InstanceData()
        results.bboxes = self.bbox_coder.decode(
            torch.cat(mlvl_priors_kept), torch.cat(mlvl_bbox_preds), max_shape=img_shape)
        results.scores = torch.cat(mlvl_scores)
        results.labels = torch.cat(mlvl_labels)
        if mlvl_factors:
            results.score_factors = torch.cat(mlvl_factors)
        if nms_pre_scope == 'image' and 0 < nms_pre < len(results):
            # the top nms_pre overall lie within the per-level top nms_pre kept above
            results = results[results.scores.topk(nms_pre).indices]
        return self._bbox_post_process(
            results=results, cfg=cfg, rescale=rescale, with_nms=with_nms, img_meta=img_meta)
