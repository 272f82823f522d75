"""Unknown Object Masking (FCOS-OWP §3.3 and Appendix A, "Unknown Area Masking").

Detection datasets are not exhaustively annotated: an un-annotated object in the background is
trained as "background" by a dense classifier that uses every location. FCOS-OWP §3.3 uses the
objectness branch to find such "unknown objects" and filters them "out before calculating the
loss on the classification task": a background location whose predicted objectness is above a
user-defined threshold is ignored (``mode='pixel'``, "masking out individual pixels whose
predicted objectness was above a user-defined threshold"). Appendix A ("Unknown Area
Masking", Table 4) masks areas instead: "we find pixels that are outside of the ground-truths
that have high box quality. Then we use the regression prediction at that particular pixel,
which is an [l,r,t,b] tuple, to mask out any pixels within the suggested box" (``mode='area'``).

:class:`UnknownObjectMaskedLoss` wraps any sigmoid classification loss (mmdet's ``FocalLoss``,
``QualityFocalLoss`` with one-hot targets, ``CrossEntropyLoss(use_sigmoid=True)``...) and is used
as the head's ``loss_cls``::

    loss_cls=dict(
        _delete_=True,                 # when replacing the base config's FocalLoss dict
        type='UnknownObjectMaskedLoss',
        use_sigmoid=True,              # read by AnchorFreeHead to size the classifier
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        thr=0.95, start_iter=5000, mode='pixel')

Call contract (any dense head with a sigmoid classifier and an objectness map)
------------------------------------------------------------------------------
The wrapper sets ``uses_head_context = True``; a head that sees this attribute on its
``loss_cls`` (mmowp's ``OWPFCOSHead.loss_cls_by_feat`` does) calls it like the wrapped loss with
keyword-only extras. Every tensor is flattened over (images, levels, locations) in the *same*
order as ``cls_score``; the order itself does not matter::

    loss = self.loss_cls(
        cls_score,                 # (N, C) logits
        labels,                    # (N,)  long, C (= num_classes) for background
        weight=None, avg_factor=num_pos, reduction_override=None,   # passed to loss_cls
        objectness=obj,            # (N,) objectness probabilities in [0, 1] (sigmoid applied),
                                   #      or a dict branch name -> (N,) probabilities, e.g.
                                   #      {'centerness': ..., 'iou': ...}; see objectness_key
        inside_gt=inside,          # (N,)  bool, location lies inside at least one GT box of
                                   #       its image (any level, any assignment)
        points=points,             # (N, 2) x, y of each location in image pixels  ('area')
        bboxes=boxes,              # (N, 4) decoded predicted x1, y1, x2, y2 boxes  ('area')
        img_inds=img_inds)         # (N,)  long image index of each location        ('area')

``objectness`` and ``bboxes`` are detached here (masking is a decision, it must not send
gradient into the objectness or regression branches). The wrapper never changes ``avg_factor``:
masking only removes background terms, the number of positives is unchanged.

Which locations are ignored (weight 0 in the wrapped loss), from iteration ``start_iter`` on:

* ``'pixel'``: ``~inside_gt & (labels == C) & (objectness > thr)``;
* ``'area'``: the seeds of ``'pixel'`` and every location of the same image (any FPN level)
  whose point lies strictly inside a seed's predicted box (``x1 < x < x2`` and ``y1 < y < y2``,
  FCOS's own "inside a box" rule), again only where ``~inside_gt & (labels == C)``.

Locations inside a GT box or carrying a foreground label are never masked. The current
iteration is read from MMEngine's message hub (``MessageHub.get_current_instance().get_info
('iter')``, set by ``RuntimeInfoHook`` before every training iteration; it is restored on
resume), so masking starts at the same iteration after a resume. Outside a runner (no ``iter``
info) the iteration counts as 0. The number of masked locations of each call is stored in
``self.num_masked`` and logged as the scalar ``train/<log_name>`` (0 before ``start_iter``).
"""
from typing import Dict, Optional, Union

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmdet.utils import ConfigType
from mmengine.logging import MessageHub
from torch import Tensor

from ..utils.scoring import OBJECTNESS_FACTORS, ScoreMode


@MODELS.register_module()
class UnknownObjectMaskedLoss(nn.Module):
    """Ignore background locations that look like objects in a sigmoid classification loss.

    Args:
        loss_cls (dict): Config of the wrapped sigmoid classification loss, e.g.
            ``dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25)``.
        thr (float): Objectness threshold in (0, 1); a background location with objectness
            strictly above it is an "unknown object". FCOS-OWP tests 0.925 and 0.95
            (Appendix A, Figure 6). Defaults to 0.925.
        start_iter (int): First (0-based) training iteration at which masking is applied;
            before it the wrapped loss runs unchanged ("when to apply these thresholds",
            5k/10k/30k/60k in Figure 6). Defaults to 30000.
        mode (str): ``'pixel'`` (FCOS-OWP §3.3) or ``'area'`` (Appendix A, Table 4).
            Defaults to ``'pixel'``.
        use_sigmoid (bool): Must be True; it is read by mmdet's ``AnchorFreeHead`` to give the
            classifier ``num_classes`` outputs. Defaults to True.
        log_name (str): Name of the logged scalar (``train/<log_name>``).
            Defaults to ``'num_unknown_masked'``.
        objectness_key (str, optional): Which objectness to threshold when the head passes a
            dict of branches: ``'iou'``, ``'centerness'`` or ``'sqrt(centerness*iou)'``
            (geometric mean, OLN's score). None takes the only branch given and raises if
            there are several. Defaults to None.
        area_chunk (int): Seeds processed at once in ``'area'`` mode (bounds memory to
            ``area_chunk x locations`` booleans per image). Defaults to 256.
    """

    #: Tells a head to pass objectness, inside_gt, points, bboxes and img_inds.
    uses_head_context = True
    #: Accepted values of ``objectness_key``.
    OBJECTNESS_KEYS = tuple(OBJECTNESS_FACTORS)

    def __init__(self,
                 loss_cls: ConfigType,
                 thr: float = 0.925,
                 start_iter: int = 30000,
                 mode: str = 'pixel',
                 use_sigmoid: bool = True,
                 log_name: str = 'num_unknown_masked',
                 objectness_key: Optional[str] = None,
                 area_chunk: int = 256) -> None:
        super().__init__()
        if mode not in ('pixel', 'area'):
            raise ValueError(f"UnknownObjectMaskedLoss: mode must be 'pixel' or 'area', "
                             f'got {mode!r}')
        if not 0.0 < float(thr) < 1.0:
            raise ValueError(f'UnknownObjectMaskedLoss: thr must be in (0, 1), got {thr!r}')
        if int(start_iter) < 0:
            raise ValueError(f'UnknownObjectMaskedLoss: start_iter must be >= 0, got '
                             f'{start_iter!r}')
        if objectness_key not in (None, ) + self.OBJECTNESS_KEYS:
            raise ValueError(f'UnknownObjectMaskedLoss: objectness_key must be None or one of '
                             f'{self.OBJECTNESS_KEYS}, got {objectness_key!r}')
        if not use_sigmoid:
            raise ValueError('UnknownObjectMaskedLoss: only sigmoid classifiers are supported '
                             '(use_sigmoid=True): a softmax background class cannot be ignored '
                             'per location without changing the other classes')
        if not isinstance(loss_cls, dict) or 'type' not in loss_cls:
            raise ValueError('UnknownObjectMaskedLoss: loss_cls must be a loss config dict '
                             f'with a type, got {loss_cls!r}')
        if not loss_cls.get('use_sigmoid', True):
            raise ValueError(f'UnknownObjectMaskedLoss: the wrapped loss {loss_cls["type"]} '
                             'has use_sigmoid=False; only sigmoid classification losses can be '
                             'masked')
        self.loss_cls = MODELS.build(loss_cls)
        self.thr = float(thr)
        self.start_iter = int(start_iter)
        self.mode = mode
        self.use_sigmoid = True
        self.log_name = log_name
        self.objectness_key = objectness_key
        self.area_chunk = int(area_chunk)
        self.num_masked = 0

    @staticmethod
    def current_iter() -> int:
        """The current training iteration from MMEngine's message hub (0 outside a runner)."""
        it = MessageHub.get_current_instance().get_info('iter')
        return 0 if it is None else int(it)

    def select_objectness(self, objectness: Union[Tensor, Dict[str, Tensor]]) -> Tensor:
        """The objectness map to threshold: the tensor itself, or the branch of a dict
        chosen by ``objectness_key``."""
        if not isinstance(objectness, dict):
            return objectness
        key = self.objectness_key
        if key is None:
            if len(objectness) != 1:
                raise ValueError(
                    'UnknownObjectMaskedLoss: the head passes several objectness branches '
                    f'{sorted(objectness)}; set objectness_key to one of {self.OBJECTNESS_KEYS}')
            return next(iter(objectness.values()))
        missing = [b for b in ScoreMode.parse(key).branches if b not in objectness]
        if missing:
            raise ValueError(f'UnknownObjectMaskedLoss: objectness_key={key!r} needs the '
                             f'branches {missing}, but the head only has {sorted(objectness)}')
        return ScoreMode.parse(key).objectness_factor(objectness)

    def is_active(self) -> bool:
        """Whether masking applies at the current iteration (``iter >= start_iter``)."""
        return self.current_iter() >= self.start_iter

    def compute_mask(self,
                     labels: Tensor,
                     objectness: Union[Tensor, Dict[str, Tensor]],
                     inside_gt: Tensor,
                     num_classes: int,
                     points: Optional[Tensor] = None,
                     bboxes: Optional[Tensor] = None,
                     img_inds: Optional[Tensor] = None) -> Tensor:
        """The (N,) bool mask of locations to ignore, regardless of the iteration.

        Args:
            labels (Tensor): (N,) labels, ``num_classes`` for background.
            objectness (Tensor | dict): (N,) objectness probabilities in [0, 1], or a dict of
                them per branch (see ``objectness_key``).
            inside_gt (Tensor): (N,) bool, location inside at least one GT box.
            num_classes (int): The background label.
            points (Tensor, optional): (N, 2) location coordinates (``'area'`` mode).
            bboxes (Tensor, optional): (N, 4) decoded predicted boxes (``'area'`` mode).
            img_inds (Tensor, optional): (N,) image index per location (``'area'`` mode).

        Returns:
            Tensor: (N,) bool, True where the classification loss is ignored.
        """
        n = labels.shape[0]
        if objectness is None or inside_gt is None:
            raise ValueError(
                'UnknownObjectMaskedLoss needs objectness= and inside_gt= from the head (see '
                'the call contract in mmowp/models/losses/unknown_object_masked_loss.py); the '
                'head in use does not pass them')
        objectness = self.select_objectness(objectness).detach().reshape(-1)
        inside_gt = inside_gt.reshape(-1)
        if objectness.shape[0] != n or inside_gt.shape[0] != n:
            raise ValueError(f'UnknownObjectMaskedLoss: objectness {tuple(objectness.shape)} '
                             f'and inside_gt {tuple(inside_gt.shape)} must have one value per '
                             f'location ({n})')
        if inside_gt.dtype != torch.bool:
            raise ValueError('UnknownObjectMaskedLoss: inside_gt must be a bool tensor, got '
                             f'{inside_gt.dtype}')
        if n and (objectness.min() < 0 or objectness.max() > 1):
            raise ValueError(
                'UnknownObjectMaskedLoss: objectness must be probabilities in [0, 1] (apply '
                f'sigmoid first); got values in [{float(objectness.min()):.3g}, '
                f'{float(objectness.max()):.3g}]')
        # Only background locations outside every GT box may be masked.
        maskable = (~inside_gt) & (labels == num_classes)
        seeds = maskable & (objectness > self.thr)
        if self.mode == 'pixel' or not bool(seeds.any()):
            return seeds
        return seeds | (self._area_mask(seeds, points, bboxes, img_inds, n) & maskable)

    def _area_mask(self, seeds: Tensor, points: Optional[Tensor], bboxes: Optional[Tensor],
                   img_inds: Optional[Tensor], n: int) -> Tensor:
        """Locations strictly inside a seed's predicted box, within the seed's image."""
        if points is None or bboxes is None:
            raise ValueError("UnknownObjectMaskedLoss(mode='area') needs points= and bboxes= "
                             '(decoded predicted boxes) from the head')
        if img_inds is None:
            raise ValueError("UnknownObjectMaskedLoss(mode='area') needs img_inds= (image index "
                             'of each location) so that a box only masks its own image')
        if points.shape != (n, 2) or bboxes.shape != (n, 4) or img_inds.shape != (n,):
            raise ValueError(f'UnknownObjectMaskedLoss: points {tuple(points.shape)}, bboxes '
                             f'{tuple(bboxes.shape)} and img_inds {tuple(img_inds.shape)} must '
                             f'be (N, 2), (N, 4) and (N,) with N={n}')
        bboxes = bboxes.detach()
        area = torch.zeros_like(seeds)
        for img in torch.unique(img_inds[seeds]).tolist():
            in_img = (img_inds == img).nonzero().reshape(-1)
            pts = points[in_img]
            seed_boxes = bboxes[seeds & (img_inds == img)]
            hit = torch.zeros(in_img.numel(), dtype=torch.bool, device=seeds.device)
            for start in range(0, seed_boxes.shape[0], self.area_chunk):
                b = seed_boxes[start:start + self.area_chunk]
                inside = ((pts[None, :, 0] > b[:, None, 0]) & (pts[None, :, 0] < b[:, None, 2])
                          & (pts[None, :, 1] > b[:, None, 1]) & (pts[None, :, 1] < b[:, None, 3]))
                hit |= inside.any(dim=0)
            area[in_img[hit]] = True
        return area

    def forward(self,
                cls_score: Tensor,
                labels: Tensor,
                weight: Optional[Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                *,
                objectness: Union[Tensor, Dict[str, Tensor], None] = None,
                inside_gt: Optional[Tensor] = None,
                points: Optional[Tensor] = None,
                bboxes: Optional[Tensor] = None,
                img_inds: Optional[Tensor] = None) -> Tensor:
        """The wrapped classification loss with unknown-object locations ignored.

        Args:
            cls_score (Tensor): (N, C) classification logits.
            labels (Tensor): (N,) labels, ``C`` for background.
            weight (Tensor, optional): (N,) per-location weights of the wrapped loss.
            avg_factor (float, optional): Passed to the wrapped loss unchanged.
            reduction_override (str, optional): Passed to the wrapped loss.
            objectness, inside_gt, points, bboxes, img_inds: see the module docstring.

        Returns:
            Tensor: The wrapped loss.
        """
        if cls_score.dim() != 2 or labels.shape != cls_score.shape[:1]:
            raise ValueError(f'UnknownObjectMaskedLoss: cls_score must be (N, C) and labels '
                             f'(N,), got {tuple(cls_score.shape)} and {tuple(labels.shape)}')
        num_masked = 0
        if self.is_active():
            mask = self.compute_mask(labels, objectness, inside_gt, cls_score.shape[1],
                                     points, bboxes, img_inds)
            num_masked = int(mask.sum())
            if num_masked:
                keep = (~mask).to(cls_score.dtype)
                weight = keep if weight is None else weight * (
                    keep if weight.dim() == 1 else keep[:, None])
        elif objectness is None or inside_gt is None:
            # Fail early rather than train silently unmasked until start_iter.
            raise ValueError(
                'UnknownObjectMaskedLoss needs objectness= and inside_gt= from the head (see '
                'the call contract in mmowp/models/losses/unknown_object_masked_loss.py); the '
                'head in use does not pass them')
        self.num_masked = num_masked
        if self.training:
            MessageHub.get_current_instance().update_scalar(f'train/{self.log_name}',
                                                            num_masked)
        return self.loss_cls(cls_score, labels, weight=weight, avg_factor=avg_factor,
                             reduction_override=reduction_override)
