"""Per-level and merged objectness heatmaps over the image, with GT boxes (seed 000 Fig. 7).

The maps come from the head itself: :class:`~mmowp.models.dense_heads.OWPFCOSHead` stores
them in each prediction when ``test_cfg.return_objectness_maps=True`` (sigmoid of every
objectness branch, one (H_l, W_l) map per FPN level); mmdet's ``FCOSHead`` has one
branch, centerness, read from its forward outputs. Location ``(j, i)`` of level ``l`` is at
``((j + 0.5) s_l, (i + 0.5) s_l)`` in input pixels, so a level map is drawn with
``extent=(0, W_l s_l, H_l s_l, 0)`` (divided by the resize scale factor to land on the
original image). The *merged* map is, at each location of the finest level, the maximum
over levels (each coarser level upsampled, nearest) — the best objectness any level gives
there.
"""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv import imread

from .inference import predict


def head_maps(model: torch.nn.Module, dataset: object,
              idx: int) -> Tuple[Dict[str, List[np.ndarray]], Tuple[int, ...], object]:
    """Objectness maps of one dataset item.

    Returns:
        tuple: ``maps`` (branch -> per-level (H_l, W_l) arrays in [0, 1]), ``strides`` and
        the data sample (with ``gt_instances``, ``img_path``, ``scale_factor``).
    """
    head = model.bbox_head
    if hasattr(head, 'objectness'):  # OWPFCOSHead: ask the prediction for its maps
        head.test_cfg['return_objectness_maps'] = True
        sample = predict(model, dataset, [idx])[0]
        meta = sample.pred_instances.metainfo  # set by OWPFCOSHead.predict_by_feat
        maps = {b: [m.cpu().numpy() for m in lvl] for b, lvl in meta['objectness_maps'].items()}
        return maps, tuple(meta['objectness_strides']), sample
    from mmengine.dataset import pseudo_collate
    with torch.no_grad():  # FCOSHead: (cls, bbox, centerness) from forward
        data = model.data_preprocessor(pseudo_collate([dataset[idx]]), False)
        outs = head(model.extract_feat(data['inputs']))
        sample = model.test_step(pseudo_collate([dataset[idx]]))[0]
    strides = tuple(s[0] if isinstance(s, (tuple, list)) else s for s in head.strides)
    return {'centerness': [o[0, 0].sigmoid().numpy() for o in outs[2]]}, strides, sample


def merge_levels(levels: Sequence[np.ndarray]) -> np.ndarray:
    """Max over levels of each level's map upsampled (nearest) to the finest level's size."""
    size = levels[0].shape
    up = [F.interpolate(torch.as_tensor(m)[None, None], size=size, mode='nearest')[0, 0]
          for m in levels]
    return torch.stack(up).amax(0).numpy()


def _draw_boxes(ax, boxes: np.ndarray, color: str = 'white') -> None:  # noqa: ANN001
    from matplotlib.patches import Rectangle
    for x1, y1, x2, y2 in boxes:
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=1.2))


def _panel(ax, img: np.ndarray, heat: Optional[np.ndarray], extent: tuple,  # noqa: ANN001
           boxes: np.ndarray, title: str, vrange: Tuple[float, float] = (0.0, 1.0)):  # noqa: ANN202
    ax.imshow(img, extent=(0, img.shape[1], img.shape[0], 0))
    im = None
    if heat is not None:
        im = ax.imshow(heat, extent=extent, cmap='viridis', vmin=vrange[0], vmax=vrange[1],
                       alpha=0.8,
                       interpolation='nearest')
    _draw_boxes(ax, boxes)
    ax.set_xlim(0, img.shape[1])
    ax.set_ylim(img.shape[0], 0)
    ax.set_title(title, fontsize=8)
    ax.axis('off')
    return im


def _save_figure(fig, axes: np.ndarray, im, per_row: bool,  # noqa: ANN001
                 path: str) -> str:
    """Add the shared colour bar (unless each row has its own), save ``fig`` and close it."""
    import matplotlib.pyplot as plt
    if not per_row:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label='objectness (sigmoid)')
    fig.savefig(path, dpi=110, bbox_inches='tight')
    plt.close(fig)
    return path


def plot_objectness_maps(runs: Sequence[Tuple[str, torch.nn.Module]], dataset: object,
                         idx: int, out_prefix: str,
                         vrange: Union[None, str, Tuple[float, float]] = None) -> List[str]:
    """Write ``<out_prefix>_merged.png`` and ``<out_prefix>_levels.png`` for one image.

    ``_merged``: one row per run (checkpoint), columns: the image with GT boxes, then the
    merged map of every objectness branch. ``_levels``: one row per (run, branch), one
    column per FPN level (P3 ... P7). Colour scale: ``vrange`` (min, max); None: the min
    and max over all maps of the figure (rows stay comparable); ``'row'``: each row its
    own min and max and colour bar (spatial contrast of each checkpoint, even when their
    levels differ a lot).

    Args:
        runs: ``(label, model)`` pairs, e.g. ``[('FCOS sampling', m1), ('All sampling', m2)]``.
        dataset: The dataset (test pipeline with annotations).
        idx (int): Dataset index of the image.
        out_prefix (str): Output path prefix.
        vrange (tuple[float, float] | str, optional): See above.

    Returns:
        list[str]: The written files.
    """
    import matplotlib
    matplotlib.use('Agg', force=False)
    import matplotlib.pyplot as plt
    results = [(label, *head_maps(model, dataset, idx)) for label, model in runs]
    sample = results[0][3]
    img = imread(sample.img_path, channel_order='rgb')
    sx, sy = (sample.scale_factor if 'scale_factor' in sample else (1.0, 1.0))
    boxes = sample.gt_instances.bboxes
    boxes = np.asarray(getattr(boxes, 'tensor', boxes)).reshape(-1, 4)
    img_id = sample.img_id
    def span(maps: Sequence[np.ndarray]) -> Tuple[float, float]:
        return float(min(m.min() for m in maps)), float(max(m.max() for m in maps))

    per_row = vrange == 'row'
    if vrange is None or per_row:
        vrange = span([m for r in results for lvls in r[1].values() for m in lvls])

    def extent(shape: tuple, stride: int) -> tuple:
        return (0, shape[1] * stride / sx, shape[0] * stride / sy, 0)

    branches = max(len(r[1]) for r in results)
    fig, axes = plt.subplots(len(results), 1 + branches, squeeze=False,
                             figsize=(2.6 * (1 + branches) + 0.6, 2.6 * len(results)))
    im = None
    for row, (label, maps, strides, _) in enumerate(results):
        _panel(axes[row, 0], img, None, (), boxes, f'{label}\nimage {img_id}, GT (base)')
        rng = span([m for lvls in maps.values() for m in lvls]) if per_row else vrange
        for col, (branch, levels) in enumerate(maps.items(), start=1):
            im = _panel(axes[row, col], img, merge_levels(levels),
                        extent(levels[0].shape, strides[0]), boxes,
                        f'{label}\n{branch}, max over levels', rng)
        for col in range(1 + len(maps), 1 + branches):
            axes[row, col].axis('off')
        if per_row:
            fig.colorbar(im, ax=axes[row, :].tolist(), shrink=0.8, label='objectness')
    merged = _save_figure(fig, axes, im, per_row, f'{out_prefix}_merged.png')

    rows = [(label, branch, levels, strides) for label, maps, strides, _ in results
            for branch, levels in maps.items()]
    n_lvl = max(len(r[2]) for r in rows)
    fig, axes = plt.subplots(len(rows), n_lvl, squeeze=False,
                             figsize=(2.2 * n_lvl + 0.6, 2.3 * len(rows)))
    for row, (label, branch, levels, strides) in enumerate(rows):
        rng = span(levels) if per_row else vrange
        for col, (m, s) in enumerate(zip(levels, strides)):
            im = _panel(axes[row, col], img, m, extent(m.shape, s), boxes,
                        f'{label}\n{branch} P{int(round(np.log2(s)))} (stride {s}, '
                        f'{m.shape[1]}x{m.shape[0]})', rng)
        if per_row:
            fig.colorbar(im, ax=axes[row, :].tolist(), shrink=0.8, label='objectness')
    per_level = _save_figure(fig, axes, im, per_row, f'{out_prefix}_levels.png')
    return [merged, per_level]
