"""Open-world evaluation: class-agnostic recall on novel classes, AP/AR on base classes.

Seed 000 §5 ("Evaluation Metrics"): "For OWP, we measure the Average Recall (AR_N) over
N proposals on the novel classes. For COCO N = 100 and for LVIS N = 300." Table 1 reports
``COCO_base AP, AR10, AR100 | COCO_novel AR10, AR100``; Table 2 ``LVIS_base AP, AR@300 |
LVIS_novel AR@300``. :class:`OpenWorldCocoMetric` prints exactly such a row.

Protocol (OLN, mcahny/object_localization_network ``cocoeval_wrappers.py``, which Table 1
compares against): boxes are evaluated class-agnostically (``useCats=0``) at IoU 0.50:0.95;
GT of the classes not being evaluated is an *ignore* region, and with
``exclude_known_from_budget=True`` a detection matched (IoU >= 0.5) to such GT is removed
from its image's list so it does not use up the k budget. ``iscrowd`` GT stays an ignore
region as in pycocotools. AR@k is read from the recall array by the k asked for.
"""
import json
import logging
import os
import os.path as osp
import warnings
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.fileio import dump
from mmengine.logging import MMLogger

from ..datasets.splits import ClassSpec, complement_classes, resolve_classes
from ..utils import lvis_numpy_shim
from .fast_coco_eval import Detections, EvalResult, GroundTruth, evaluate_boxes, summary


@METRICS.register_module()
class OpenWorldCocoMetric(CocoMetric):
    """Novel-class class-agnostic AR, base-class AP and AR, in one evaluation.

    Args:
        ann_file (str): COCO- or LVIS-format json with the annotations of *all* classes
            (base and novel, true categories). Required.
        known_classes (str | Sequence[str]): Base (seen) classes: a split name (``'voc'``,
            ``'lvis_base'``, ``'owd_base'``) or category names.
        novel_classes (str | Sequence[str], optional): Novel (unseen) classes; default: all
            categories of ``ann_file`` that are not known.
        proposal_nums (Sequence[int]): The k of AR@k (detections per image). The largest
            is also the budget of AR by size, of base AP and of the AR-vs-k curve.
        exclude_known_from_budget (bool): OLN's rule (see module docstring). ``False``:
            the GT of the other split is removed and detections on it count as misses.
            The base-class AR uses the same rule with the roles swapped.
        class_agnostic (bool, optional): Whether predicted labels are meaningless (a
            single "object" class). None: True when the dataset has one class. A
            class-agnostic model has no base AP (reported as -1, printed N/A).
        ann_format (str): ``'coco'``, ``'lvis'`` (base AP by the lvis API, federated) or
            ``'auto'`` (``'lvis'`` when the categories carry ``frequency``).
        curve_nums (Sequence[int], optional): Budgets of the AR-vs-#proposals curve;
            default 1..max(proposal_nums).
        plot_dir (str, optional): Where ``open_world_metrics.json`` and
            ``ar_vs_proposals.png`` go; default the runner's log dir (next to its metrics
            json), else the directory of ``outfile_prefix``; nothing is written without one.
        proposal_file (str, optional): Write the top-``max(proposal_nums)`` boxes per image
            as COCO-format json (``category_id=1``, class-agnostic proposals) for a
            downstream two-stage detector. With ``format_only=True`` and no
            ``proposal_file``, ``{outfile_prefix}.proposals.json`` is written.
        progress (bool, optional): Show an mmengine ``ProgressBar``; None: for >= 1000
            images.
        iou_thrs, format_only, outfile_prefix, backend_args, collect_device, prefix:
            As :class:`mmdet.evaluation.CocoMetric`.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 known_classes: ClassSpec = 'voc',
                 novel_classes: Optional[ClassSpec] = None,
                 proposal_nums: Sequence[int] = (10, 100),
                 exclude_known_from_budget: bool = True,
                 class_agnostic: Optional[bool] = None,
                 ann_format: str = 'auto',
                 curve_nums: Optional[Sequence[int]] = None,
                 plot_dir: Optional[str] = None,
                 proposal_file: Optional[str] = None,
                 progress: Optional[bool] = None,
                 iou_thrs: Optional[Union[float, Sequence[float]]] = None,
                 format_only: bool = False,
                 outfile_prefix: Optional[str] = None,
                 backend_args: Optional[dict] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        if ann_file is None:
            raise ValueError('OpenWorldCocoMetric needs ann_file: a json with the novel-class '
                             'annotations (the dataset only carries the known classes)')
        nums = sorted({int(k) for k in proposal_nums})
        if not nums or nums[0] < 1:
            raise ValueError(f'proposal_nums must be positive integers, got {proposal_nums}')
        if ann_format not in ('auto', 'coco', 'lvis'):
            raise ValueError(f"ann_format must be 'auto', 'coco' or 'lvis', got {ann_format!r}")
        super().__init__(ann_file=ann_file, metric='bbox', proposal_nums=nums,
                         iou_thrs=iou_thrs, format_only=format_only,
                         outfile_prefix=outfile_prefix, backend_args=backend_args,
                         collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.known_classes = known_classes
        self.novel_classes = novel_classes
        self.exclude_known_from_budget = exclude_known_from_budget
        self.class_agnostic = class_agnostic
        self.curve_nums = None if curve_nums is None else sorted({int(k) for k in curve_nums})
        if self.curve_nums and (self.curve_nums[0] < 1 or self.curve_nums[-1] > nums[-1]):
            raise ValueError(f'curve_nums must lie in [1, {nums[-1]}], got {curve_nums}')
        self.plot_dir = plot_dir
        self.proposal_file = proposal_file
        self.progress = progress
        categories = self._coco_api.dataset.get('categories', [])
        if ann_format == 'auto':
            ann_format = 'lvis' if categories and all('frequency' in c for c in categories) \
                else 'coco'
        self.ann_format = ann_format
        # resolve the split now: a wrong name fails when the config is built
        self.known_names = resolve_classes(known_classes, categories, source=ann_file)
        if novel_classes is None:
            self.novel_names = complement_classes(self.known_names, categories)
        else:
            self.novel_names = resolve_classes(novel_classes, categories, source=ann_file)
        both = sorted(set(self.known_names) & set(self.novel_names))
        if both:
            raise ValueError(f'classes {both} are both known and novel')
        by_name = {c['name']: c['id'] for c in categories}
        self.known_ids = sorted(by_name[n] for n in self.known_names)
        self.novel_ids = sorted(by_name[n] for n in self.novel_names)
        self.all_cat_ids = sorted(by_name.values())
        self._gt: Optional[GroundTruth] = None

    # ------------------------------------------------------------------ inputs
    def _ground_truth(self) -> GroundTruth:
        """Columns of the annotation file (built once)."""
        if self._gt is None:
            anns = self._coco_api.dataset.get('annotations', [])
            bbox = np.array([a['bbox'] for a in anns], np.float64).reshape(-1, 4)
            self._gt = GroundTruth(
                image_id=np.array([a['image_id'] for a in anns], np.int64),
                category_id=np.array([a['category_id'] for a in anns], np.int64),
                bbox=bbox,
                area=np.array([a.get('area', 0.0) for a in anns], np.float64),
                iscrowd=np.array([bool(a.get('iscrowd', 0)) for a in anns], bool))
        return self._gt

    def _is_class_agnostic(self) -> bool:
        if self.class_agnostic is not None:
            return bool(self.class_agnostic)
        classes = (self.dataset_meta or {}).get('classes')
        return classes is not None and len(classes) == 1

    def _label_cat_ids(self) -> List[int]:
        """Category id of each predicted label (class-aware models)."""
        classes = (self.dataset_meta or {}).get('classes') or self.known_names
        by_name = {c['name']: c['id'] for c in self._coco_api.dataset['categories']}
        unknown = [c for c in classes if c not in by_name]
        if unknown:
            raise ValueError(f'dataset classes {unknown} are not categories of {self.ann_file}')
        # mmdet's CocoDataset labels categories in the json order of their ids
        return self._coco_api.get_cat_ids(cat_names=list(classes))

    def _detections(self, preds: Sequence[dict], agnostic: bool) -> Detections:
        """Validated column arrays of the predictions, in result order."""
        valid_imgs = set(self._coco_api.get_img_ids())
        bad_imgs = sorted({int(p['img_id']) for p in preds} - valid_imgs)
        if bad_imgs:
            raise ValueError(f'predictions for image ids {bad_imgs[:20]} (of {len(bad_imgs)}) '
                             f'that are not in {self.ann_file}')
        seen, dup = set(), set()
        for p in preds:
            (dup if p['img_id'] in seen else seen).add(int(p['img_id']))
        if dup:
            warnings.warn(f'{len(dup)} image ids have several result records (e.g. '
                          f'{sorted(dup)[:5]}); all their boxes are evaluated')
        missing = len(valid_imgs - seen)
        if missing:
            warnings.warn(f'{missing} of {len(valid_imgs)} images of {self.ann_file} have no '
                          'prediction record; their objects count as missed')
        label_ids = None if agnostic else np.asarray(self._label_cat_ids(), np.int64)
        boxes = [np.asarray(p['bboxes'], np.float32).reshape(-1, 4) for p in preds]
        scores = [np.asarray(p['scores']).reshape(-1) for p in preds]
        labels = [np.asarray(p['labels']).reshape(-1) for p in preds]
        for p, bx, sc, lb in zip(preds, boxes, scores, labels):
            if not len(bx) == len(sc) == len(lb):
                raise ValueError(f'image {p["img_id"]}: {len(bx)} boxes, {len(sc)} scores and '
                                 f'{len(lb)} labels')
        if not preds:
            return Detections(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)),
                              np.zeros(0))
        img = np.repeat(np.array([int(p['img_id']) for p in preds], np.int64),
                        [len(bx) for bx in boxes])
        b = np.concatenate(boxes).astype(np.float64)  # exact float32 values, as mmdet's json
        score = np.concatenate(scores).astype(np.float64)
        lab = np.concatenate(labels).astype(np.int64)

        def first(bad: np.ndarray) -> str:
            return f'image {int(img[np.argmax(bad)])} (and {int(bad.sum()) - 1} more boxes)'

        bad = ~(np.isfinite(b).all(1) & np.isfinite(score))
        if bad.any():
            raise ValueError(f'{first(bad)}: NaN or inf in predicted boxes/scores')
        xywh = np.stack([b[:, 0], b[:, 1], b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
        bad = (xywh[:, 2:] < 0).any(1)
        if bad.any():
            raise ValueError(f'{first(bad)}: predicted boxes with negative width or height '
                             '(expected x1 <= x2, y1 <= y2)')
        if agnostic:
            cat = np.full(len(b), self.all_cat_ids[0], np.int64)
        else:
            bad = (lab < 0) | (lab >= len(label_ids))
            if bad.any():
                raise ValueError(f'{first(bad)}: label {int(lab[np.argmax(bad)])} outside the '
                                 f'{len(label_ids)} dataset classes')
            cat = label_ids[lab]
        return Detections(img, cat, xywh, score)

    # ------------------------------------------------------------------ evaluation
    def _progress(self, n_img: int):  # noqa: ANN202
        show = self.progress if self.progress is not None else n_img >= 1000
        if not show:
            return None
        from mmengine.utils import ProgressBar
        state = {'bar': None, 'done': 0}

        def update(done: int, total: int) -> None:
            if state['bar'] is None:
                state['bar'] = ProgressBar(total)
            state['bar'].update(done - state['done'])
            state['done'] = done
        return update

    def class_agnostic_recall(self, dt: Detections, eval_ids: Sequence[int]) -> EvalResult:
        """Class-agnostic recall on the GT of ``eval_ids`` under the configured protocol."""
        return self.class_agnostic_recalls(dt, [eval_ids])[0]

    def class_agnostic_recalls(self, dt: Detections,
                               splits: Sequence[Sequence[int]]) -> List[EvalResult]:
        """:meth:`class_agnostic_recall` for several category sets; with
        ``exclude_known_from_budget`` they share one pass over the detections."""
        gt = self._ground_truth()
        img_ids = self._coco_api.get_img_ids()
        kw = dict(max_dets=self.proposal_nums, use_cats=False, iou_thrs=self.iou_thrs,
                  exclude_split_from_budget=self.exclude_known_from_budget,
                  progress=self._progress(len(img_ids)))
        in_split = [np.isin(gt.category_id, np.asarray(ids, np.int64)) for ids in splits]
        if self.exclude_known_from_budget:
            gt = GroundTruth(gt.image_id, gt.category_id, gt.bbox, gt.area, gt.iscrowd,
                             ignore_split=~np.stack(in_split, 1))
            return evaluate_boxes(gt, dt, img_ids, self.all_cat_ids, **kw)
        out = []
        for keep in in_split:
            sub = GroundTruth(gt.image_id[keep], gt.category_id[keep], gt.bbox[keep],
                              gt.area[keep], gt.iscrowd[keep])
            out.append(evaluate_boxes(sub, dt, img_ids, self.all_cat_ids, **kw))
        return out

    def base_ap(self, dt: Detections) -> Dict[str, float]:
        """Category-aware AP on the base classes (COCOeval, or the lvis API for LVIS)."""
        keep = np.isin(dt.category_id, np.asarray(self.known_ids, np.int64))
        if self.ann_format == 'lvis':
            return self._lvis_base_ap(dt, keep)
        # AP is read at the largest k only (as COCO's AP at maxDets=100)
        res = evaluate_boxes(self._ground_truth(), dt, self._coco_api.get_img_ids(),
                             self.known_ids, max_dets=self.proposal_nums[-1:], use_cats=True,
                             iou_thrs=self.iou_thrs, compute_precision=True)
        return {k: v for k, v in summary(res, ap=True, ks=()).items() if k.startswith('AP')}

    def _lvis_base_ap(self, dt: Detections, keep: np.ndarray) -> Dict[str, float]:
        from lvis import LVIS, LVISEval, LVISResults
        results = [dict(image_id=int(i), category_id=int(c), bbox=b.tolist(), score=float(s))
                   for i, c, b, s in zip(dt.image_id[keep], dt.category_id[keep],
                                         dt.bbox[keep], dt.score[keep])]
        if not results:
            warnings.warn('no detection of a base class: LVIS base AP is 0')
            return dict(AP=0.0)
        lvis_logger = logging.getLogger('lvis')
        level = lvis_logger.level
        lvis_logger.setLevel(logging.WARNING)
        try:
            with lvis_numpy_shim():
                if getattr(self, '_lvis_api', None) is None:
                    self._lvis_api = LVIS(self.ann_file)
                lvis_dt = LVISResults(self._lvis_api, results, max_dets=self.proposal_nums[-1])
                ev = LVISEval(self._lvis_api, lvis_dt, 'bbox')
                ev.params.cat_ids = list(self.known_ids)
                ev.params.max_dets = self.proposal_nums[-1]
                ev.evaluate()
                ev.accumulate()
                ev.summarize()
        finally:
            lvis_logger.setLevel(level)
        r = ev.get_results()
        out = {'AP': r['AP'], 'AP50': r['AP50'], 'AP75': r['AP75'], 'AP_s': r['APs'],
               'AP_m': r['APm'], 'AP_l': r['APl'], 'APr': r['APr'], 'APc': r['APc'],
               'APf': r['APf']}
        return {k: float(v) for k, v in out.items()}

    def evaluate_predictions(self, preds: Sequence[dict]) -> Tuple[Dict[str, float], dict]:
        """All open-world numbers for a list of per-image predictions.

        Args:
            preds (Sequence[dict]): ``img_id``, ``bboxes`` (xyxy), ``scores``, ``labels``
                per image, as :meth:`CocoMetric.process` stores them.

        Returns:
            tuple: the metrics dict (unprefixed, fractions in [0, 1], -1 where undefined)
            and the curves ``{'k': [...], 'novel': [...], 'base': [...]}``.
        """
        agnostic = self._is_class_agnostic()
        dt = self._detections(preds, agnostic)
        n_classes = len((self.dataset_meta or {}).get('classes') or self.known_names)
        if not agnostic and n_classes > 1 and len(dt) >= 100 and \
                (dt.category_id == dt.category_id[0]).all():
            warnings.warn(f'all {len(dt)} predictions carry the same label: if the model is a '
                          'class-agnostic proposal model, set class_agnostic=True (its base AP '
                          'is meaningless)')
        gt = self._ground_truth()
        n_novel = int(np.isin(gt.category_id, self.novel_ids).sum())
        if n_novel == 0:
            raise ValueError(f'no annotation of the novel classes {list(self.novel_names)[:20]} '
                             f'in {self.ann_file}: novel recall is undefined (check '
                             f'known_classes={self.known_classes!r} / novel_classes)')
        metrics: Dict[str, float] = OrderedDict()
        ks = self.proposal_nums
        n_base = int(np.isin(gt.category_id, self.known_ids).sum())
        if n_base:
            novel, base = self.class_agnostic_recalls(dt, [self.novel_ids, self.known_ids])
        else:
            novel, base = self.class_agnostic_recall(dt, self.novel_ids), None
        metrics.update(summary(novel, prefix='novel_', ks=ks))
        if base is not None:
            metrics.update(summary(base, prefix='base_', ks=ks))
            if agnostic:
                metrics['base_AP'] = -1.0
            else:
                metrics.update({f'base_{k}': v for k, v in self.base_ap(dt).items()})
        else:
            warnings.warn(f'no annotation of the known classes in {self.ann_file}: base AP/AR '
                          'are not computed')
        ks_curve = np.arange(1, ks[-1] + 1) if self.curve_nums is None \
            else np.asarray(self.curve_nums)
        curves = {'k': ks_curve.tolist(),
                  'novel': novel.curve_average('all')[ks_curve - 1].tolist(),
                  'base': None if base is None else base.curve_average('all')[ks_curve - 1]
                  .tolist()}
        return metrics, curves

    def table_row(self, metrics: Dict[str, float]) -> Tuple[str, str]:
        """Header and values (percent) in the shape of seed 000 Table 1 / Table 2."""
        def fmt(v: Optional[float]) -> str:
            return 'N/A' if v is None or v < 0 else f'{100 * v:.2f}'
        cols = [('base AP', metrics.get('base_AP'))]
        cols += [(f'base AR{k}', metrics.get(f'base_AR@{k}')) for k in self.proposal_nums]
        cols += [(f'novel AR{k}', metrics.get(f'novel_AR@{k}')) for k in self.proposal_nums]
        header = ' | '.join(f'{name:>11}' for name, _ in cols)
        values = ' | '.join(f'{fmt(v):>11}' for _, v in cols)
        return header, values

    # ------------------------------------------------------------------ outputs
    def _output_dir(self) -> Optional[str]:
        if self.plot_dir:
            return self.plot_dir
        logger = MMLogger.get_current_instance()
        for h in logger.handlers:
            if isinstance(h, logging.FileHandler):
                return osp.dirname(h.baseFilename)
        if self.outfile_prefix:
            return osp.dirname(self.outfile_prefix) or '.'
        return None

    def save_outputs(self, metrics: Dict[str, float], curves: dict,
                     out_dir: Optional[str]) -> Optional[str]:
        """Write ``open_world_metrics.json`` and ``ar_vs_proposals.png`` into ``out_dir``."""
        if not out_dir:
            return None
        os.makedirs(out_dir, exist_ok=True)
        with open(osp.join(out_dir, 'open_world_metrics.json'), 'w') as f:
            json.dump(dict(metrics=metrics, ar_vs_proposals=curves,
                           known_classes=list(self.known_names),
                           novel_classes=list(self.novel_names),
                           exclude_known_from_budget=self.exclude_known_from_budget,
                           ann_file=self.ann_file), f, indent=1)
        png = osp.join(out_dir, 'ar_vs_proposals.png')
        import matplotlib
        matplotlib.use('Agg', force=False)
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(5, 3.5))
        for key, style in (('novel', '-'), ('base', '--')):
            if curves.get(key) is not None:
                ax.plot(curves['k'], [100 * v for v in curves[key]], style, label=f'{key} AR')
        ax.set_xscale('log')
        ax.set_xlabel('number of proposals per image (k)')
        ax.set_ylabel('AR@k (%), IoU 0.50:0.95')
        ax.grid(True, alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(png, dpi=100)
        plt.close(fig)
        return png

    def export_proposals(self, preds: Sequence[dict], path: str) -> str:
        """Write the top-``max(proposal_nums)`` boxes per image as COCO-format json."""
        k = self.proposal_nums[-1]
        out = []
        for p in preds:
            b = np.asarray(p['bboxes'], np.float32).reshape(-1, 4).astype(np.float64)
            s = np.asarray(p['scores']).reshape(-1)
            order = np.argsort(-s, kind='stable')[:k]
            for i in order:
                x1, y1, x2, y2 = b[i].tolist()
                out.append(dict(image_id=int(p['img_id']), bbox=[x1, y1, x2 - x1, y2 - y1],
                                score=float(s[i]), category_id=1))
        d = osp.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        dump(out, path)
        return path

    def compute_metrics(self, results: list) -> Dict[str, float]:
        """Compute the open-world metrics from the processed results.

        Args:
            results (list): ``(gt, pred)`` pairs from :meth:`CocoMetric.process`.

        Returns:
            dict[str, float]: ``novel_AR@k``, ``novel_AR_{s,m,l}@K``, ``base_AR@k``,
            ``base_AR_{s,m,l}@K``, ``base_AP*`` (fractions; -1: undefined).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        preds = [pred for _, pred in results]
        if self.proposal_file or self.format_only:
            path = self.proposal_file or f'{self.outfile_prefix}.proposals.json'
            logger.info(f'proposals written to {self.export_proposals(preds, path)}')
        if self.format_only:
            return OrderedDict()
        metrics, curves = self.evaluate_predictions(preds)
        header, values = self.table_row(metrics)
        proto = 'OLN, known excluded from budget' if self.exclude_known_from_budget else \
            'other split removed'
        logger.info(f'Open-world evaluation ({proto}, IoU 0.50:0.95, '
                    f'{len(self.known_names)} base / {len(self.novel_names)} novel classes):\n'
                    f'{header}\n{values}')
        png = self.save_outputs(metrics, curves, self._output_dir())
        if png:
            logger.info(f'AR-vs-#proposals plot: {png}')
        return metrics
