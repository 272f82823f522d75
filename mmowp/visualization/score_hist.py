"""Histograms of objectness targets and predictions (FCOS-OWP §3.2 Figure 3, §5.1 Figure 5).

* **targets**: the per-location objectness targets the head trains on (Eq. 1 centerness,
  Eq. 2 IoU), collected by running the head's own loss on annotated images and recording
  what :meth:`OWPFCOSHead.get_objectness_targets` returns; for the IoU branch also the same
  targets with IoU Sampling switched off, so the flattening of the left-skewed IoU
  distribution (§3.2: "The purpose of this procedure is to flatten the IOU target
  distribution") is visible;
* **predicted objectness at those locations** (sigmoid of the branch logits);
* **proposal scores**: the final scores of the returned proposals (Figure 5, "proposal
  scoring distribution"), per the head's ``score_mode``.
"""
import contextlib
from typing import Dict, Iterator, List, Optional, Sequence

import numpy as np
import torch
from mmengine.dataset import pseudo_collate

from .inference import predict


@contextlib.contextmanager
def _record(head: torch.nn.Module, store: dict) -> Iterator[None]:
    """Record ``loss_by_feat``'s objectness logits and ``get_objectness_targets``' output."""
    orig_loss, orig_targets = head.loss_by_feat, head.get_objectness_targets

    def loss_by_feat(cls_scores: list, bbox_preds: list, objectnesses: list, *args: object,
                     **kwargs: object) -> dict:
        store['logits'] = torch.cat([o.permute(0, 2, 3, 1).reshape(-1, o.size(1))
                                     for o in objectnesses])
        return orig_loss(cls_scores, bbox_preds, objectnesses, *args, **kwargs)

    def get_objectness_targets(*args: object, **kwargs: object) -> dict:
        out = orig_targets(*args, **kwargs)
        store['targets'] = out
        return out
    head.loss_by_feat, head.get_objectness_targets = loss_by_feat, get_objectness_targets
    try:
        yield
    finally:
        del head.loss_by_feat, head.get_objectness_targets


@torch.no_grad()
def collect_objectness(model: torch.nn.Module, dataset: object, indices: Sequence[int],
                       batch_size: int = 4) -> Dict[str, np.ndarray]:
    """Objectness targets and predictions at the locations the head trains objectness on.

    Returns:
        dict: ``target/<branch>``, ``pred/<branch>`` and, when the head uses IoU Sampling,
        ``target/iou (no IoU Sampling)``; 1-D arrays over all sampled locations.
    """
    head = model.bbox_head
    if not hasattr(head, 'get_objectness_targets'):
        raise TypeError(f'{type(head).__name__} has no objectness targets to collect; '
                        'score histograms of targets need an OWPFCOSHead')
    out: Dict[str, List[np.ndarray]] = {}
    thr = getattr(head, 'iou_sampling_thr', None)
    variants = [(None, thr)] + ([(' (no IoU Sampling)', None)] if thr is not None else [])
    for i in range(0, len(indices), batch_size):
        batch = pseudo_collate([dataset[j] for j in indices[i:i + batch_size]])
        data = model.data_preprocessor(batch, True)
        for suffix, t in variants:
            store: dict = {}
            head.iou_sampling_thr = t
            try:
                with _record(head, store):
                    model.loss(data['inputs'], data['data_samples'])
            finally:
                head.iou_sampling_thr = thr
            for k, branch in enumerate(head.objectness):
                if suffix and branch != 'iou':
                    continue
                inds, targets = store['targets'][branch]
                name = branch + (suffix or '')
                out.setdefault(f'target/{name}', []).append(targets.cpu().numpy())
                if not suffix:
                    out.setdefault(f'pred/{branch}', []).append(
                        store['logits'][inds, k].sigmoid().cpu().numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


def proposal_scores(model: torch.nn.Module, dataset: object,
                    indices: Sequence[int]) -> np.ndarray:
    """Scores of all returned proposals of the given images."""
    samples = predict(model, dataset, indices)
    return np.concatenate([s.pred_instances.scores.cpu().numpy() for s in samples])


def plot_score_hist(values: Dict[str, np.ndarray], scores: Optional[np.ndarray],
                    out_file: str, title: str = '', bins: int = 40) -> str:
    """One PNG: targets vs predictions per branch, and the proposal score distribution.

    Args:
        values (dict): From :func:`collect_objectness`.
        scores (np.ndarray, optional): From :func:`proposal_scores`.
        out_file (str): PNG path.
        title (str): Figure title (e.g. the config name).
        bins (int): Histogram bins on [0, 1].
    """
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state
    branches = [k.split('/', 1)[1] for k in values if k.startswith('pred/')]
    n = len(branches) + (scores is not None)
    fig = Figure(figsize=(4.2 * n, 3.4))
    axes = fig.subplots(1, n, squeeze=False)
    edges = np.linspace(0, 1, bins + 1)
    for ax, branch in zip(axes[0], branches):
        tgt = values[f'target/{branch}']
        ax.hist(tgt, edges, alpha=0.55, label=f'target (n={len(tgt)}, mean {tgt.mean():.2f})')
        raw = values.get(f'target/{branch} (no IoU Sampling)')
        if raw is not None:
            ax.hist(raw, edges, histtype='step', lw=1.5, color='k',
                    label=f'target without IoU Sampling (mean {raw.mean():.2f})')
        pred = values[f'pred/{branch}']
        ax.hist(pred, edges, alpha=0.55, label=f'predicted (mean {pred.mean():.2f})')
        ax.set_title(f'{branch}: trained locations', fontsize=9)
        ax.set_xlabel(f'{branch} objectness')
        ax.set_ylabel('locations')
        ax.legend(fontsize=7)
    if scores is not None:
        ax = axes[0, -1]
        ax.hist(scores, edges, color='tab:green', alpha=0.7)
        ax.set_title(f'proposal scores ({len(scores)} proposals)', fontsize=9)
        ax.set_xlabel('score')
        ax.set_ylabel('proposals')
        ax.set_yscale('log')
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    return out_file
