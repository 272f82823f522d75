"""Unknown-object detection quality of an outlier score: AUROC, AP, FPR@95%TPR.

RbA (Nayal et al., ICCV 2023) §4.2 ("Evaluation Metrics") reports, per pixel, "Average
Precision (AP), Area under ROC Curve (AuROC), and False Positive rate at the threshold of 95%
True Positive Rate (FPR@95)" of the outlier score, outliers being the positive class. For a
detector the same three numbers are computed at two levels (:class:`UnknownDetectionMetric`):

* **location** -- every head location (all FPN levels) with the per-location unknown score
  the head stores with ``test_cfg.return_unknown_maps`` (``OWPFCOSHead.add_unknown_maps``).
  A location is positive when the smallest non-crowd GT box containing it (original-image
  coordinates) is of a novel class, negative when it is of a base class; locations in no GT
  box are dropped, or negatives with ``location_background=True`` (then at most
  ``max_background`` per image, drawn with a fixed seed); locations whose smallest box is
  crowd or of a class in neither split are dropped.
* **box** -- every predicted box (optionally only those of one label, e.g. the head's
  "unknown" label ``num_classes``) with its score. It is positive when its best IoU with a
  novel GT box is >= ``iou_thr`` and not below its best IoU with a base GT box, negative when
  its best base IoU is >= ``iou_thr`` and higher; other boxes are dropped (negatives with
  ``box_background=True``).

Curves come from :mod:`sklearn.metrics` (``roc_auc_score``, ``average_precision_score``,
``roc_curve`` with ``drop_intermediate=False``; FPR@95 is the FPR of the first ROC point whose
TPR reaches 0.95). Values are fractions in [0, 1]. A level with no positive or no negative is
undefined: with ``on_degenerate='nan'`` (default) its three numbers are NaN and a warning names
the level and the counts; ``'raise'`` raises ``ValueError`` instead.
"""
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
from mmdet.evaluation.functional import bbox_overlaps
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric
from mmengine.fileio import get_local_path
from mmengine.logging import MMLogger
from pycocotools.coco import COCO

from ..datasets.splits import ClassSpec, complement_classes, resolve_classes
from ..utils.optional import import_optional

LEVELS = ('location', 'box')


def fpr_at_tpr(labels: np.ndarray, scores: np.ndarray, tpr: float = 0.95) -> float:
    """FPR of the first ROC point (sklearn ``roc_curve``) whose TPR is >= ``tpr``."""
    metrics = import_optional('sklearn.metrics', 'UnknownDetectionMetric')
    fprs, tprs, _ = metrics.roc_curve(labels, scores, drop_intermediate=False)
    return float(fprs[np.searchsorted(tprs, tpr, side='left')])


def outlier_scores(labels: np.ndarray, scores: np.ndarray, tpr: float = 0.95,
                   on_degenerate: str = 'nan', name: str = 'scores') -> Dict[str, float]:
    """AUROC, AP and FPR@``tpr`` of ``scores`` for the binary ``labels`` (1 = unknown).

    Args:
        labels (np.ndarray): (N,) 0/1.
        scores (np.ndarray): (N,) higher = more likely unknown.
        tpr (float): TPR of the FPR metric. Defaults to 0.95.
        on_degenerate (str): ``'nan'`` (warn, return NaN) or ``'raise'`` when the labels
            have no positive or no negative.
        name (str): Name used in warnings and errors.

    Returns:
        dict: ``AUROC``, ``AP``, ``FPR{100*tpr}``, ``num_pos``, ``num_neg``.
    """
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    scores = np.asarray(scores, np.float64).reshape(-1)
    if len(labels) != len(scores):
        raise ValueError(f'{name}: {len(labels)} labels but {len(scores)} scores')
    if not np.isfinite(scores).all():
        raise ValueError(f'{name}: NaN or inf scores')
    n_pos, n_neg = int(labels.sum()), int((labels == 0).sum())
    key = f'FPR{round(100 * tpr)}'
    out = OrderedDict(AUROC=float('nan'), AP=float('nan'))
    out[key] = float('nan')
    out.update(num_pos=n_pos, num_neg=n_neg)
    if n_pos == 0 or n_neg == 0:
        msg = (f'{name}: {n_pos} positives (unknown) and {n_neg} negatives (known): AUROC, AP '
               f'and {key} are undefined')
        if on_degenerate == 'raise':
            raise ValueError(msg)
        warnings.warn(msg + '; reported as NaN')
        return out
    metrics = import_optional('sklearn.metrics', 'UnknownDetectionMetric')
    out['AUROC'] = float(metrics.roc_auc_score(labels, scores))
    out['AP'] = float(metrics.average_precision_score(labels, scores))
    out[key] = fpr_at_tpr(labels, scores, tpr)
    return out


@METRICS.register_module()
class UnknownDetectionMetric(BaseMetric):
    """AUROC / AP / FPR@95 of an unknown score, at location and box level (module docstring).

    Usable next to :class:`~mmowp.evaluation.OpenWorldCocoMetric` in
    ``val_evaluator=[...]`` (its keys are prefixed ``unknown/``): ``unknown/location_AUROC``,
    ``unknown/location_AP``, ``unknown/location_FPR95``, ``unknown/box_*``, and the counts
    ``unknown/{level}_num_pos`` / ``_num_neg``.

    Args:
        ann_file (str): COCO-format json with the annotations of all classes (base and
            novel, true categories).
        known_classes (str | Sequence[str]): Base classes (split name or names), as
            ``OpenWorldCocoMetric``.
        novel_classes (str | Sequence[str], optional): Novel classes; default all other
            categories.
        levels (Sequence[str]): Subset of ``('location', 'box')``. ``'location'`` needs the
            head's ``test_cfg.return_unknown_maps``.
        iou_thr (float): Box matching IoU. Defaults to 0.5.
        box_label (int | str, optional): Only evaluate predicted boxes of this label;
            ``'unknown'`` = ``len(dataset_meta['classes'])`` (``OWPFCOSHead``'s unknown label
            with ``unknown_score_mode``). None: every box. Defaults to None.
        location_background (bool): Locations outside every GT box are negatives.
        max_background (int): At most this many background locations per image.
        box_background (bool): Boxes matching no GT are negatives.
        tpr (float): TPR of the FPR metric. Defaults to 0.95.
        on_degenerate (str): ``'nan'`` or ``'raise'``, see :func:`outlier_scores`.
        seed (int): Seed of the background subsampling.
        backend_args, collect_device, prefix: As mmengine's ``BaseMetric``.
    """

    default_prefix: Optional[str] = 'unknown'

    def __init__(self,
                 ann_file: str,
                 known_classes: ClassSpec = 'voc',
                 novel_classes: Optional[ClassSpec] = None,
                 levels: Sequence[str] = LEVELS,
                 iou_thr: float = 0.5,
                 box_label: Optional[object] = None,
                 location_background: bool = False,
                 max_background: int = 1000,
                 box_background: bool = False,
                 tpr: float = 0.95,
                 on_degenerate: str = 'nan',
                 seed: int = 0,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        import_optional('sklearn.metrics', 'UnknownDetectionMetric')  # fail at build time
        bad = [lv for lv in levels if lv not in LEVELS]
        if bad or not levels:
            raise ValueError(f'levels must be a non-empty subset of {LEVELS}, got {levels}')
        if on_degenerate not in ('nan', 'raise'):
            raise ValueError(f"on_degenerate must be 'nan' or 'raise', got {on_degenerate!r}")
        if not (box_label is None or box_label == 'unknown' or isinstance(box_label, int)):
            raise ValueError(f"box_label must be None, 'unknown' or an int, got {box_label!r}")
        self.levels = tuple(levels)
        self.iou_thr = float(iou_thr)
        self.box_label = box_label
        self.location_background = location_background
        self.max_background = int(max_background)
        self.box_background = box_background
        self.tpr = float(tpr)
        self.on_degenerate = on_degenerate
        self.seed = seed
        with get_local_path(ann_file, backend_args=backend_args) as local:
            self._coco = COCO(local)
        self.ann_file = ann_file
        cats = self._coco.dataset.get('categories', [])
        known = resolve_classes(known_classes, cats, source=ann_file)
        novel = complement_classes(known, cats) if novel_classes is None else \
            resolve_classes(novel_classes, cats, source=ann_file)
        both = sorted(set(known) & set(novel))
        if both:
            raise ValueError(f'classes {both} are both known and novel')
        by_name = {c['name']: c['id'] for c in cats}
        self.known_ids = {by_name[n] for n in known}
        self.novel_ids = {by_name[n] for n in novel}

    # ---------------------------------------------------------------- ground truth
    def _gt(self, img_id: int) -> Tuple[np.ndarray, np.ndarray]:
        """GT boxes (G, 4) xyxy and their kind (G,): 1 novel, 0 base, -1 ignore."""
        if img_id not in self._coco.imgs:
            raise ValueError(f'prediction for image id {img_id}, which is not in '
                             f'{self.ann_file}')
        anns = self._coco.imgToAnns.get(img_id, [])
        boxes = np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        kind = np.array([-1 if a.get('iscrowd', 0) else 1 if a['category_id'] in self.novel_ids
                         else 0 if a['category_id'] in self.known_ids else -1 for a in anns],
                        np.int64)
        return boxes, kind

    # ---------------------------------------------------------------- per image
    def location_labels(self, points: np.ndarray, boxes: np.ndarray,
                        kind: np.ndarray) -> np.ndarray:
        """Label of each location: 1 novel, 0 base, -1 dropped, 2 background.

        Args:
            points (np.ndarray): (P, 2) ``(x, y)`` in original-image pixels.
            boxes (np.ndarray): (G, 4) GT boxes xyxy.
            kind (np.ndarray): (G,) 1 novel, 0 base, -1 ignore.
        """
        if len(boxes) == 0:
            return np.full(len(points), 2, np.int64)
        x, y = points[:, 0, None], points[:, 1, None]
        inside = (x >= boxes[:, 0]) & (x < boxes[:, 2]) & (y >= boxes[:, 1]) & (y < boxes[:, 3])
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        area = np.where(inside, area[None], np.inf)
        smallest = area.argmin(axis=1)
        return np.where(inside.any(axis=1), kind[smallest], 2)

    def box_labels(self, pred: np.ndarray, boxes: np.ndarray, kind: np.ndarray) -> np.ndarray:
        """Label of each predicted box: 1 novel, 0 base, 2 unmatched (see module docstring)."""
        out = np.full(len(pred), 2, np.int64)
        if len(pred) == 0 or len(boxes) == 0:
            return out
        ious = bbox_overlaps(pred.astype(np.float32), boxes.astype(np.float32))
        best_novel = np.where(kind[None] == 1, ious, -1).max(axis=1)
        best_base = np.where(kind[None] == 0, ious, -1).max(axis=1)
        out[(best_base >= self.iou_thr) & (best_base > best_novel)] = 0
        out[(best_novel >= self.iou_thr) & (best_novel >= best_base)] = 1
        return out

    def _location_level(self, img_id: int, pred: dict, meta: dict, boxes: np.ndarray,
                        kind: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        maps = pred.get('unknown_maps')
        if maps is None:
            raise KeyError(f'image {img_id}: no "unknown_maps" in the predictions; set the '
                           "head's test_cfg.return_unknown_maps=True (or an RbA score mode) "
                           "or drop 'location' from UnknownDetectionMetric.levels")
        strides, offset = pred['unknown_strides'], float(pred.get('unknown_offset', 0.5))
        if 'scale_factor' not in meta and meta.get('img_shape') != meta.get('ori_shape'):
            raise KeyError(f'image {img_id}: no "scale_factor" in the data sample but its '
                           'img_shape differs from ori_shape; add it to PackDetInputs meta_keys')
        scale = np.asarray(meta.get('scale_factor', (1.0, 1.0)), np.float64).reshape(-1)[:2]
        ori_h, ori_w = meta.get('ori_shape', (np.inf, np.inf))[:2]
        scores, labels = [], []
        for level_map, stride in zip(maps, strides):
            level_map = np.asarray(level_map.cpu() if hasattr(level_map, 'cpu') else level_map,
                                   np.float64)
            h, w = level_map.shape
            ys, xs = np.meshgrid((np.arange(h) + offset) * stride,
                                 (np.arange(w) + offset) * stride, indexing='ij')
            points = np.stack([xs.reshape(-1) / scale[0], ys.reshape(-1) / scale[1]], 1)
            scores.append(level_map.reshape(-1))
            lab = self.location_labels(points, boxes, kind)
            # padding of the batch: not part of the image
            lab[(points[:, 0] >= ori_w) | (points[:, 1] >= ori_h)] = -1
            labels.append(lab)
        scores, labels = np.concatenate(scores), np.concatenate(labels)
        keep = (labels == 0) | (labels == 1)
        if self.location_background:
            bg = np.nonzero(labels == 2)[0]
            if len(bg) > self.max_background:
                rng = np.random.default_rng([self.seed, img_id])
                bg = rng.choice(bg, self.max_background, replace=False)
            keep[bg] = True
            labels = np.where(labels == 2, 0, labels)
        return labels[keep], scores[keep].astype(np.float32)

    def _box_level(self, pred: dict, boxes: np.ndarray,
                   kind: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        bboxes = np.asarray(_numpy(pred['bboxes']), np.float64).reshape(-1, 4)
        scores = np.asarray(_numpy(pred['scores']), np.float64).reshape(-1)
        if self.box_label is not None:
            if self.box_label == 'unknown' and not (self.dataset_meta or {}).get('classes'):
                raise ValueError("box_label='unknown' is len(dataset_meta['classes']), but the "
                                 'metric has no dataset_meta (give the label as an int)')
            label = len(self.dataset_meta['classes']) if self.box_label == 'unknown' else \
                self.box_label
            sel = np.asarray(_numpy(pred['labels'])).reshape(-1) == label
            bboxes, scores = bboxes[sel], scores[sel]
        labels = self.box_labels(bboxes, boxes, kind)
        if self.box_background:
            labels = np.where(labels == 2, 0, labels)
        keep = labels != 2
        return labels[keep], scores[keep].astype(np.float32)

    def process(self, data_batch: dict, data_samples: Sequence[dict]) -> None:
        """Label the image's locations and boxes; keep (labels, scores) arrays only.

        Args:
            data_batch (dict): Unused.
            data_samples (Sequence[dict]): Outputs of the model (``img_id``,
                ``scale_factor``, ``pred_instances`` with ``bboxes``/``scores``/``labels``
                and, for the location level, ``unknown_maps``/``unknown_strides``).
        """
        for sample in data_samples:
            img_id = int(sample['img_id'])
            pred = sample['pred_instances']
            boxes, kind = self._gt(img_id)
            result = {}
            if 'location' in self.levels:
                result['location'] = self._location_level(img_id, pred, sample, boxes, kind)
            if 'box' in self.levels:
                result['box'] = self._box_level(pred, boxes, kind)
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """AUROC, AP, FPR@95 and counts per level (see :func:`outlier_scores`)."""
        logger: MMLogger = MMLogger.get_current_instance()
        metrics: Dict[str, float] = OrderedDict()
        for level in self.levels:
            labels = np.concatenate([r[level][0] for r in results]) if results else \
                np.zeros(0, np.int64)
            scores = np.concatenate([r[level][1] for r in results]) if results else \
                np.zeros(0, np.float32)
            out = outlier_scores(labels, scores, self.tpr, self.on_degenerate,
                                 name=f'UnknownDetectionMetric {level} level')
            metrics.update({f'{level}_{k}': v for k, v in out.items()})
        logger.info('Unknown detection (positive = novel): ' + ', '.join(
            f'{k} {v:.4f}' if isinstance(v, float) else f'{k} {v}' for k, v in metrics.items()))
        return metrics


def _numpy(x: object) -> np.ndarray:
    return x.detach().cpu().numpy() if hasattr(x, 'detach') else np.asarray(x)
