"""Classification loss of the policy-gradient detector (Rao et al., CVPR 2018, §3.3, Eq. 6-11).

A detector is a policy that *selects* detections; its reward is the image's mAP, which NMS makes
non-differentiable. The policy-gradient detector estimates, for every detection candidate ``b``,
the reward ``r(b)`` of the sampled detection sets that contain it, subtracts the baseline
``r'`` (the mAP of the NMS output) and adds the cross-entropy weight ``gamma``:

    Eq. 10:  grad L_I(theta, b) ~= -((r(b) - r') + gamma) grad_theta log(p_b)
    Eq. 11:  dL_I / dx          ~=  ((r(b) - r') + gamma) (p_b - 1)

where ``x`` is the logit of ``b``'s class and ``p_b`` its probability. This module implements
that for a dense, **sigmoid** classifier (FCOS): ``p_b = sigmoid(x_b)``, whose ``log p_b`` has
the same derivative ``p_b - 1`` as the softmax's.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.ops import batched_nms
from mmdet.registry import MODELS
from mmdet.structures.bbox import get_box_tensor
from mmengine.dist import get_dist_info
from mmengine.structures import InstanceData
from torch import Tensor

from ..utils.image_ap import COCO_IOU_THRS, batched_image_ap


def pg_surrogate_loss(logits: Tensor, targets: Tensor, advantages: Tensor,
                      gamma: float) -> Tensor:
    """Per-candidate surrogate whose autograd gradient is Eq. 11.

    ``L_b = -A_b * log sigmoid(x_b) + gamma * BCE(x_b, t_b)`` with the advantage
    ``A_b = r(b) - r'`` treated as a constant, so that

    * positive candidate (``t_b = 1``): ``dL_b/dx_b = (A_b + gamma) (p_b - 1)`` — Eq. 11;
    * background candidate (``t_b = 0``): ``dL_b/dx_b = A_b (p_b - 1) + gamma p_b``: the policy
      term is the same (the action "detect ``b`` as its top class"), and the cross-entropy term
      is the one towards the annotation, background, as the softmax cross-entropy of a
      background RoI gives ``p_c`` on a foreground logit ``x_c``.

    Args:
        logits (Tensor): (N,) logit ``x_b`` of each candidate's class.
        targets (Tensor): (N,) 1. for candidates assigned to a GT, 0. for background.
        advantages (Tensor): (N,) ``r(b) - r'`` (detached here).
        gamma (float): Weight of the cross-entropy term (Eq. 10).

    Returns:
        Tensor: (N,) per-candidate surrogate loss.
    """
    advantages = advantages.detach().to(logits.dtype)
    policy = -advantages * F.logsigmoid(logits)
    if gamma == 0:
        return policy
    ce = F.binary_cross_entropy_with_logits(logits, targets.to(logits.dtype), reduction='none')
    return policy + gamma * ce


@MODELS.register_module()
class PolicyGradientLoss(nn.Module):
    """The policy-gradient detector's loss for the candidates of a dense sigmoid classifier.

    Per image (Algorithm 1, steps 4-8):

    1. **Candidates.** Every location gets one class ``c_b``: its assigned GT's class when the
       assigner made it positive, its top-scoring class otherwise (the paper takes the GT
       category, Eq. 7). ``p_b = sigmoid(x_{b, c_b})`` is the policy; the detection score
       ``s_b = p_b * f_b`` (``f_b`` = the head's score factor, e.g. FCOS centerness, or 1) ranks
       boxes in NMS and in the AP. The ``num_candidates`` locations of highest ``s_b`` are the
       candidates (the counterpart of a Faster R-CNN's RoIs).
    2. **Baseline** ``r'`` = COCO AP@[``iou_thrs``] of NMS(candidates) (top ``max_dets``).
    3. **Actions.** ``num_samples`` (k) sets: each candidate is drawn independently with
       probability ``p_b`` (``p_a = prod_{b in a} p_b``, §3.3), the drawn set goes through the
       same NMS and ``max_dets`` cut as inference, and its AP is the reward ``r(a)``.
    4. **Per-candidate reward** (Eq. 9, ``r(b) = sum_a p(a) r(a) delta(a, b)``, with
       ``delta(a, b) = 1`` when ``b`` was drawn in ``a``), estimated from the k draws:

       * ``'conditional'`` (default): mean ``r(a)`` over the draws that contain ``b`` (the
         Monte-Carlo estimate of ``E[r(a) | b in a]``); a candidate never drawn gets
         ``r(b) = r'`` (no evidence, zero advantage);
       * ``'expectation'``: ``(1/k) sum_a r(a) delta(a, b)``, the literal Monte-Carlo estimate of
         Eq. 9's sum, which also scales the reward by how often ``b`` is drawn.

       Candidates that NMS selected for the baseline get zero reward relative to it
       (``r(b) - r' := 0``, "we set the rewards of boxes that have already been selected to
       zero"), so only the cross-entropy term acts on them.
    5. **Loss.** :func:`pg_surrogate_loss` of every candidate, summed over the batch and divided
       by the number of candidates, times ``loss_weight``. Locations that are not candidates get
       no gradient from this loss.

    Images with no GT box (no AP) or no candidate contribute zero. Rewards and the sampling run
    without gradient. Sampling uses the module's own ``torch.Generator`` seeded with
    ``seed + rank``, so a run is reproducible and does not disturb the global RNG.

    Args:
        num_samples (int): Sampled detection sets per image, k (10 in §3.3).
        gamma (float): Cross-entropy weight of Eq. 10 (1.0; 0 = pure policy gradient).
        num_candidates (int): Candidates per image, top-N locations by score.
        iou_thrs (Sequence[float], optional): IoU thresholds of the per-image AP; None = COCO's
            0.5:0.05:0.95 (§4).
        max_dets (int): Detections kept after NMS and per category in the AP (COCO's 100).
        nms_cfg (dict): mmcv ``batched_nms`` config (class-aware), as the head's ``test_cfg.nms``.
        reward_estimator (str): ``'conditional'`` or ``'expectation'``, see above.
        seed (int): Seed of the sampling generator.
        loss_weight (float): Weight of the loss.
    """

    REWARD_ESTIMATORS = ('conditional', 'expectation')

    def __init__(self,
                 num_samples: int = 10,
                 gamma: float = 1.0,
                 num_candidates: int = 512,
                 iou_thrs: Optional[Sequence[float]] = None,
                 max_dets: int = 100,
                 nms_cfg: Optional[dict] = None,
                 reward_estimator: str = 'conditional',
                 seed: int = 0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if int(num_samples) < 1:
            raise ValueError(f'PolicyGradientLoss: num_samples must be >= 1, got {num_samples}')
        if int(num_candidates) < 1:
            raise ValueError('PolicyGradientLoss: num_candidates must be >= 1, '
                             f'got {num_candidates}')
        if gamma < 0:
            raise ValueError(f'PolicyGradientLoss: gamma must be >= 0, got {gamma}')
        if reward_estimator not in self.REWARD_ESTIMATORS:
            raise ValueError(f'PolicyGradientLoss: reward_estimator must be one of '
                             f'{self.REWARD_ESTIMATORS}, got {reward_estimator!r}')
        iou_thrs = COCO_IOU_THRS.tolist() if iou_thrs is None else [float(t) for t in iou_thrs]
        if not iou_thrs or not all(0.0 < t <= 1.0 for t in iou_thrs):
            raise ValueError(f'PolicyGradientLoss: iou_thrs must be in (0, 1], got {iou_thrs}')
        self.num_samples = int(num_samples)
        self.gamma = float(gamma)
        self.num_candidates = int(num_candidates)
        self.iou_thrs = iou_thrs
        self.max_dets = int(max_dets)
        self.nms_cfg = dict(type='nms', iou_threshold=0.5) if nms_cfg is None else dict(nms_cfg)
        self.reward_estimator = reward_estimator
        self.seed = int(seed)
        self.loss_weight = float(loss_weight)
        self._generators: Dict[str, torch.Generator] = {}

    # ---------------------------------------------------------------- sampling
    def generator(self, device: torch.device) -> torch.Generator:
        """The sampling generator of ``device``, created on first use with ``seed + rank``."""
        key = str(device)
        if key not in self._generators:
            gen = torch.Generator(device=device)
            gen.manual_seed(self.seed + get_dist_info()[0])
            self._generators[key] = gen
        return self._generators[key]

    def reset_generator(self) -> None:
        """Restart sampling from ``seed`` (the next call draws the same sets again)."""
        self._generators.clear()

    def sample_actions(self, probs: Tensor) -> Tensor:
        """Draw ``num_samples`` actions: (k, N) bool, candidate ``b`` drawn w.p. ``p_b``."""
        gen = self.generator(probs.device)
        uniform = torch.rand((self.num_samples, len(probs)), generator=gen, device=probs.device,
                             dtype=probs.dtype)
        return uniform < probs

    # ----------------------------------------------------------------- rewards
    def select(self, bboxes: Tensor, scores: Tensor, classes: Tensor) -> Tensor:
        """Inference-time selection: class-aware NMS then the top ``max_dets``; indices sorted by
        decreasing score."""
        if len(bboxes) == 0:
            return classes.new_zeros((0, ), dtype=torch.long)
        _, keep = batched_nms(bboxes, scores, classes, self.nms_cfg)
        return keep[:self.max_dets]

    @torch.no_grad()
    def image_advantages(self, probs: Tensor, scores: Tensor, classes: Tensor, bboxes: Tensor,
                         gt_bboxes: Tensor, gt_labels: Tensor) -> Dict[str, Tensor]:
        """Rewards of the candidates of one image (steps 2-4).

        Args:
            probs (Tensor): (N,) policy ``p_b``.
            scores (Tensor): (N,) detection scores ``s_b`` (NMS and AP ranking).
            classes (Tensor): (N,) class ``c_b`` of each candidate.
            bboxes (Tensor): (N, 4) decoded candidate boxes.
            gt_bboxes (Tensor): (G, 4) GT boxes, G > 0.
            gt_labels (Tensor): (G,) GT classes.

        Returns:
            dict: ``advantage`` (N,) ``r(b) - r'`` (0 for NMS-selected, and for never-drawn
            candidates with the conditional estimator), ``reward`` (N,) ``r(b)``, ``baseline``
            ``r'`` (scalar), ``sample_ap`` (k,) ``r(a)``, ``selected`` (N,) bool, ``drawn``
            (k, N) bool.
        """
        num = len(probs)
        selected_inds = self.select(bboxes, scores, classes)
        drawn = self.sample_actions(probs)
        sets = [selected_inds]
        for k in range(self.num_samples):
            inds = drawn[k].nonzero().reshape(-1)
            sets.append(inds[self.select(bboxes[inds], scores[inds], classes[inds])])
        width = max(1, max(len(s) for s in sets))
        padded = classes.new_zeros((len(sets), width), dtype=torch.long)
        valid = torch.zeros((len(sets), width), dtype=torch.bool, device=probs.device)
        for i, s in enumerate(sets):
            padded[i, :len(s)] = s
            valid[i, :len(s)] = True
        aps = batched_image_ap(
            bboxes[padded], scores[padded], classes[padded], gt_bboxes, gt_labels,
            det_valid=valid, iou_thrs=self.iou_thrs, max_dets=self.max_dets)
        baseline, sample_ap = aps[0], aps[1:]
        hits = drawn.to(aps.dtype)  # delta(a, b)
        total = (hits * sample_ap[:, None]).sum(0)
        if self.reward_estimator == 'conditional':
            count = hits.sum(0)
            reward = torch.where(count > 0, total / count.clamp(min=1), baseline)
        else:
            reward = total / self.num_samples
        selected = torch.zeros(num, dtype=torch.bool, device=probs.device)
        selected[selected_inds] = True
        reward = torch.where(selected, baseline, reward)  # "reward of selected boxes is zero"
        return dict(advantage=reward - baseline, reward=reward, baseline=baseline,
                    sample_ap=sample_ap, selected=selected, drawn=drawn)

    # -------------------------------------------------------------------- loss
    def forward(self,
                cls_logits: Tensor,
                bboxes: Tensor,
                labels: Tensor,
                img_inds: Tensor,
                batch_gt_instances: List[InstanceData],
                score_factors: Optional[Tensor] = None) -> Tuple[Tensor, Dict[str, Tensor]]:
        """Policy-gradient loss of a batch of flattened locations.

        Args:
            cls_logits (Tensor): (M, C) classification logits (all images and levels).
            bboxes (Tensor): (M, 4) decoded predicted boxes ``(x1, y1, x2, y2)`` in pixels
                (detached here).
            labels (Tensor): (M,) assigned labels, ``C`` (= num_classes) for background.
            img_inds (Tensor): (M,) image index of each location, into ``batch_gt_instances``.
            batch_gt_instances (list[InstanceData]): GT ``bboxes`` and ``labels`` per image.
            score_factors (Tensor, optional): (M,) factors in [0, 1] multiplied into ``p_b``
                for ranking (e.g. sigmoid centerness); None = 1.

        Returns:
            tuple: the loss (scalar) and a dict of detached log scalars: ``pg_baseline_ap``
            (mean ``r'``), ``pg_sample_ap`` (mean ``r(a)``), ``pg_mean_reward`` (mean ``r(b)``
            over candidates) and ``pg_pos_adv_frac`` (share of candidates with ``r(b) > r'``).
        """
        num_locs, num_classes = cls_logits.shape
        if not (len(bboxes) == len(labels) == len(img_inds) == num_locs):
            raise ValueError('PolicyGradientLoss: cls_logits, bboxes, labels and img_inds must '
                             f'have the same length, got {num_locs}, {len(bboxes)}, '
                             f'{len(labels)} and {len(img_inds)}')
        if score_factors is not None and len(score_factors) != num_locs:
            raise ValueError(f'PolicyGradientLoss: score_factors has {len(score_factors)} '
                             f'entries for {num_locs} locations')
        logits_det = cls_logits.detach()
        positive = (labels >= 0) & (labels < num_classes)
        classes = torch.where(positive, labels, logits_det.argmax(1))
        cand_logits = cls_logits.gather(1, classes[:, None]).squeeze(1)  # x_b, with grad
        probs = cand_logits.detach().sigmoid()
        scores = probs if score_factors is None else probs * score_factors.detach()
        bboxes = bboxes.detach()

        loss_terms, stats = [], dict(baseline=[], sample_ap=[], reward=[], advantage=[])
        for img_id, gt in enumerate(batch_gt_instances):
            gt_bboxes = get_box_tensor(gt.bboxes)
            loc_inds = (img_inds == img_id).nonzero().reshape(-1)
            if len(gt_bboxes) == 0 or len(loc_inds) == 0:
                continue  # no AP without GT, nothing to train without candidates
            top = scores[loc_inds].topk(min(self.num_candidates, len(loc_inds)))[1]
            cand = loc_inds[top]
            out = self.image_advantages(probs[cand], scores[cand], classes[cand],
                                        bboxes[cand], gt_bboxes.to(bboxes.dtype), gt.labels)
            loss_terms.append(
                pg_surrogate_loss(cand_logits[cand], positive[cand].float(), out['advantage'],
                                  self.gamma))
            stats['baseline'].append(out['baseline'].reshape(1))
            stats['sample_ap'].append(out['sample_ap'])
            stats['reward'].append(out['reward'])
            stats['advantage'].append(out['advantage'])

        if not loss_terms:
            zero = cls_logits.sum() * 0.0  # keeps the graph, no NaN
            nan_free = zero.detach()
            return zero, dict(pg_baseline_ap=nan_free, pg_sample_ap=nan_free,
                              pg_mean_reward=nan_free, pg_pos_adv_frac=nan_free)
        per_cand = torch.cat(loss_terms)
        loss = self.loss_weight * per_cand.sum() / len(per_cand)
        dtype = cls_logits.dtype
        advantage = torch.cat(stats['advantage'])
        log_vars = dict(
            pg_baseline_ap=torch.cat(stats['baseline']).mean().to(dtype),
            pg_sample_ap=torch.cat(stats['sample_ap']).mean().to(dtype),
            pg_mean_reward=torch.cat(stats['reward']).mean().to(dtype),
            pg_pos_adv_frac=(advantage > 0).to(dtype).mean())
        return loss, log_vars
