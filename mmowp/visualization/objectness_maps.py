"""Per-level and merged objectness heatmaps over the image, with GT boxes (FCOS-OWP Figure 7).

The maps come from the head itself: :class:`~mmowp.models.dense_heads.OWPFCOSHead` stores
them in each prediction when ``test_cfg.return_objectness_maps=True`` (sigmoid of every
objectness branch, one (H_l, W_l) map per FPN level); mmdet's ``FCOSHead`` has one
branch, centerness, read from its forward outputs. Location ``(j, i)`` of level ``l`` is at
``((j + 0.5) s_l, (i + 0.5) s_l)`` in input pixels, so a level map is drawn with
``extent=(0, W_l s_l, H_l s_l, 0)`` (divided by the resize scale factor to land on the
original image). The *merged* map is, at each location of the finest level, the maximum
over levels (each coarser level upsampled, nearest) — the best objectness any level gives
there.

Ground truth is drawn in the colours of ``tools/test.py --show-dir``
(:data:`~mmowp.visualization.open_world_visualizer.COLORS`): the **base** (known-class) boxes of
the dataset in green and, when given, the **novel** boxes (the objects the model never saw
labelled, read from a json that annotates every class, e.g. the evaluator's ``ann_file``) in
magenta -- the objects an open-world objectness map is about.
"""
import textwrap
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmcv import imread

from .inference import predict
from .open_world_visualizer import COLORS

#: Figure sizes (inches) of one panel of each figure.
_MERGED_PANEL, _LEVEL_PANEL = 2.6, 2.2


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


def novel_gt_boxes(ann_file: str, known_classes: Sequence[str]) -> Dict[int, np.ndarray]:
    """Boxes of the classes that are not known, by image id, from a COCO/LVIS-format json.

    Args:
        ann_file (str): A json that annotates every class (e.g. the open-world evaluator's
            ``ann_file``; a training json that holds only the base classes gives none).
        known_classes (Sequence[str]): The names of the known (base) classes.

    Returns:
        dict[int, np.ndarray]: image id -> (N, 4) x1y1x2y2 boxes (crowd boxes left out).
    """
    from mmengine.fileio import load
    data = load(ann_file)
    for key in ('categories', 'annotations'):
        if key not in data:
            raise ValueError(f'{ann_file}: no {key!r} (not a COCO/LVIS-format json)')
    known = set(known_classes)
    novel_ids = {c['id'] for c in data['categories'] if c['name'] not in known}
    boxes: Dict[int, List[list]] = {}
    for a in data['annotations']:
        if a['category_id'] in novel_ids and not a.get('iscrowd', 0):
            x, y, w, h = a['bbox']
            boxes.setdefault(int(a['image_id']), []).append([x, y, x + w, y + h])
    return {k: np.asarray(v, np.float32).reshape(-1, 4) for k, v in boxes.items()}


def _rgb(kind: str) -> Tuple[float, ...]:
    return tuple(c / 255 for c in COLORS[kind])


def _draw_boxes(ax, boxes: np.ndarray, color: Tuple[float, ...]) -> None:  # noqa: ANN001
    from matplotlib.patches import Rectangle
    for x1, y1, x2, y2 in boxes:
        ax.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, ec=color, lw=1.2))


def _panel(ax, img: np.ndarray, heat: Optional[np.ndarray], extent: tuple,  # noqa: ANN001
           gt: Dict[str, np.ndarray], title: str,
           vrange: Tuple[float, float] = (0.0, 1.0)):  # noqa: ANN202
    ax.imshow(img, extent=(0, img.shape[1], img.shape[0], 0))
    im = None
    if heat is not None:
        im = ax.imshow(heat, extent=extent, cmap='viridis', vmin=vrange[0], vmax=vrange[1],
                       alpha=0.8, interpolation='nearest')
    for kind, boxes in gt.items():  # base first, novel on top
        _draw_boxes(ax, boxes, _rgb(kind))
    ax.set_xlim(0, img.shape[1])
    ax.set_ylim(img.shape[0], 0)
    ax.set_title(title, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    return im


def _row_label(ax, label: str, height_in: float) -> None:  # noqa: ANN001
    """The run label left of a row (a y label, wrapped to the row height), not in every
    panel title, where long config names run into the neighbouring titles."""
    chars = max(12, int(height_in * 72 / (8 * 0.62)))  # 8 pt characters per row height
    ax.set_ylabel('\n'.join(textwrap.wrap(label, chars)) or label, fontsize=8)


def _gt_legend(fig, n_novel: Optional[int]) -> None:  # noqa: ANN001
    from matplotlib.patches import Patch
    handles = [Patch(fill=False, ec=_rgb('known'), label='GT, base (known) classes')]
    handles.append(Patch(fill=False, ec=_rgb('novel'),
                         label='GT, novel classes' if n_novel is not None
                         else 'GT, novel classes: not given'))
    fig.legend(handles=handles, loc='outside upper center', ncols=2, fontsize=8, frameon=False)


def objectness_figures(runs: Sequence[Tuple[str, torch.nn.Module]], dataset: object, idx: int,
                       vrange: Union[None, str, Tuple[float, float]] = None,
                       novel_boxes: Optional[np.ndarray] = None) -> Dict[str, object]:
    """The two matplotlib figures of :func:`plot_objectness_maps`, not saved.

    They are ``matplotlib.figure.Figure`` objects on an Agg canvas, outside pyplot: no
    backend is chosen and nothing needs closing.

    Returns:
        dict: ``{'merged': Figure, 'levels': Figure}``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    results = [(label, *head_maps(model, dataset, idx)) for label, model in runs]
    sample = results[0][3]
    img = imread(sample.img_path, channel_order='rgb')
    sx, sy = (sample.scale_factor if 'scale_factor' in sample else (1.0, 1.0))
    boxes = sample.gt_instances.bboxes
    gt = {'known': np.asarray(getattr(boxes, 'tensor', boxes)).reshape(-1, 4)}
    if novel_boxes is not None:
        gt['novel'] = np.asarray(novel_boxes, np.float32).reshape(-1, 4)
    n_novel = len(gt['novel']) if 'novel' in gt else None
    img_id = sample.img_id

    def span(maps: Sequence[np.ndarray]) -> Tuple[float, float]:
        return float(min(m.min() for m in maps)), float(max(m.max() for m in maps))

    per_row = vrange == 'row'
    if vrange is None or per_row:
        vrange = span([m for r in results for lvls in r[1].values() for m in lvls])

    def extent(shape: tuple, stride: int) -> tuple:
        return (0, shape[1] * stride / sx, shape[0] * stride / sy, 0)

    def colorbar(fig, im, axes) -> None:  # noqa: ANN001
        fig.colorbar(im, ax=axes, shrink=0.8, label='objectness (sigmoid)')

    gt_title = (f'image {img_id}: {len(gt["known"])} base'
                + (f' + {n_novel} novel GT' if n_novel is not None else ' GT'))
    branches = max(len(r[1]) for r in results)
    w = _MERGED_PANEL
    fig = Figure(layout='constrained',
                 figsize=(w * (1 + branches) + 1.0, w * len(results) + 0.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(results), 1 + branches, squeeze=False)
    im = None
    for row, (label, maps, strides, _) in enumerate(results):
        _panel(axes[row, 0], img, None, (), gt, gt_title)
        _row_label(axes[row, 0], label, w)
        rng = span([m for lvls in maps.values() for m in lvls]) if per_row else vrange
        for col, (branch, levels) in enumerate(maps.items(), start=1):
            im = _panel(axes[row, col], img, merge_levels(levels),
                        extent(levels[0].shape, strides[0]), gt, f'{branch}: max over levels',
                        rng)
        for col in range(1 + len(maps), 1 + branches):
            axes[row, col].axis('off')
        if per_row:
            colorbar(fig, im, axes[row, :].tolist())
    if not per_row:
        colorbar(fig, im, axes.ravel().tolist())
    _gt_legend(fig, n_novel)
    figures = {'merged': fig}

    rows = [(label, branch, levels, strides) for label, maps, strides, _ in results
            for branch, levels in maps.items()]
    n_lvl = max(len(r[2]) for r in rows)
    w = _LEVEL_PANEL
    fig = Figure(layout='constrained', figsize=(w * n_lvl + 1.0, (w + 0.1) * len(rows) + 0.4))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(rows), n_lvl, squeeze=False)
    for row, (label, branch, levels, strides) in enumerate(rows):
        rng = span(levels) if per_row else vrange
        _row_label(axes[row, 0], f'{label}: {branch}', w)
        for col, (m, s) in enumerate(zip(levels, strides)):
            im = _panel(axes[row, col], img, m, extent(m.shape, s), gt,
                        f'P{int(round(np.log2(s)))}, stride {s}, {m.shape[1]}x{m.shape[0]}', rng)
        for col in range(len(levels), n_lvl):
            axes[row, col].axis('off')
        if per_row:
            colorbar(fig, im, axes[row, :].tolist())
    if not per_row:
        colorbar(fig, im, axes.ravel().tolist())
    _gt_legend(fig, n_novel)
    figures['levels'] = fig
    return figures


def plot_objectness_maps(runs: Sequence[Tuple[str, torch.nn.Module]], dataset: object,
                         idx: int, out_prefix: str,
                         vrange: Union[None, str, Tuple[float, float]] = None,
                         novel_boxes: Optional[np.ndarray] = None) -> List[str]:
    """Write ``<out_prefix>_merged.png`` and ``<out_prefix>_levels.png`` for one image.

    ``_merged``: one row per run (checkpoint, labelled on the left), columns: the image with
    its GT boxes, then the merged map of every objectness branch. ``_levels``: one row per
    (run, branch), one column per FPN level (P3 ... P7). Every panel shows the GT boxes: base
    classes in green and ``novel_boxes`` in magenta, as ``tools/test.py --show-dir``.
    Colour scale: ``vrange`` (min, max); None: the min and max over all maps of the figure
    (rows stay comparable); ``'row'``: each row its own min and max and colour bar (spatial
    contrast of each checkpoint, even when their levels differ a lot).

    Args:
        runs: ``(label, model)`` pairs, e.g. ``[('FCOS sampling', m1), ('All sampling', m2)]``.
        dataset: The dataset (test pipeline with annotations).
        idx (int): Dataset index of the image.
        out_prefix (str): Output path prefix.
        vrange (tuple[float, float] | str, optional): See above.
        novel_boxes (np.ndarray, optional): (N, 4) x1y1x2y2 novel-class GT boxes of the image
            in original-image pixels (:func:`novel_gt_boxes`); None: not drawn (the legend
            says so).

    Returns:
        list[str]: The written files.
    """
    written = []
    for name, fig in objectness_figures(runs, dataset, idx, vrange, novel_boxes).items():
        path = f'{out_prefix}_{name}.png'
        fig.savefig(path, dpi=110)
        written.append(path)
    return written
