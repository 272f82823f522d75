"""Open-world evaluation: class-agnostic recall on novel classes, AP/AR on base classes.

FCOS-OWP §5 ("Evaluation Metrics"): "For OWP, we measure the Average Recall (AR_N) over
N proposals on the novel classes. For COCO N = 100 and for LVIS N = 300." Table 1 reports
``COCO_base AP, AR10, AR100 | COCO_novel AR10, AR100``; Table 2 ``LVIS_base AP, AR@300 |
LVIS_novel AR@300``. :class:`OpenWorldCocoMetric` prints exactly such a row.

Boxes are evaluated class-agnostically (``useCats=0``) at IoU 0.50:0.95; ``iscrowd`` GT is
an ignore region as in pycocotools; AR@k is read from the recall array by the k asked for.
What happens to the ground truth of the split that is *not* evaluated (the base classes
when novel recall is measured, and vice versa) differs between papers, so every
evaluation computes both protocols (:data:`PROTOCOLS`):

* ``'oln'`` -- OLN (mcahny/object_localization_network ``cocoeval_wrappers.py``), whose
  numbers FCOS-OWP Table 1 compares against: that GT is an ignore region, and a detection
  matched to it at IoU >= 0.5 is dropped from its image's list. The list was first cut to
  the top ``max(proposal_nums)`` boxes by score, so dropping only lets lower-ranked boxes
  *of that pool* move up: at ``k = max(proposal_nums)`` (AR@100 on COCO) a box on a base
  object still takes one of the k slots; at smaller k (AR@10) the boxes ranked below it
  inside the top ``max(proposal_nums)`` move up into the freed slots. A dropped box is no
  true positive at any IoU threshold. Hence OLN's AR@k for k < max depends on the largest
  k of the same evaluation (AR@10 of ``proposal_nums=(10, 100)`` can exceed that of
  ``(10, )``), and at ``k = max`` both protocols agree except where a box dropped for a
  base hit at IoU 0.5 would have been a true positive at a higher IoU threshold.
* ``'removed'`` -- FCOS-OWP §5: "During evaluation, we remove all annotations belonging to
  the seen classes": that GT is deleted; a box on such an object is an ordinary miss that
  uses up budget at every k.

``exclude_known_from_budget`` picks the protocol of the unprefixed keys (``novel_AR@k``,
``base_AR@k``, default ``'oln'``); the other protocol is logged with its name in the key
(``novel_removed_AR@k`` / ``novel_oln_AR@k``).
"""
import contextlib
import io
import json
import logging
import os
import os.path as osp
import sys
import warnings
from collections import OrderedDict
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
from mmdet.datasets.api_wrappers import COCO
from mmdet.evaluation.metrics import CocoMetric
from mmdet.registry import METRICS
from mmengine.fileio import dump, get_local_path
from mmengine.logging import MMLogger

from ..datasets.splits import ClassSpec, complement_classes, resolve_classes
from ..datasets.validate import validate_coco_dict
from ..utils import lvis_numpy_shim
from ..utils.optional import import_optional
from .coco_reference import evaluate_boxes_reference
from .fast_coco_eval import Detections, EvalResult, GroundTruth, evaluate_boxes, summary

#: Box evaluators of the same signature and results: the vectorised one, and pycocotools
#: itself (``COCOeval`` + OLN's rule; slow, for checking a number).
BACKENDS: Dict[str, Callable] = OrderedDict(fast=evaluate_boxes,
                                            pycocotools=evaluate_boxes_reference)

#: The two evaluation protocols and what they do with the GT of the split not evaluated.
PROTOCOLS: Dict[str, str] = OrderedDict(
    oln="OLN's: ignored; a box matched to it at IoU >= 0.5 is dropped from the image's top "
        'max(k) boxes (at k = max(k) it still took a slot)',
    removed='FCOS-OWP §5: annotations removed; a box on such an object is a miss that uses '
            'the budget')


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
            is also the budget of AR by size, of base AP and of the AR-vs-k curve, and the
            pool of OLN's protocol (its AR@k for smaller k depends on it).
        exclude_known_from_budget (bool): The protocol of the unprefixed recall keys
            (``novel_AR@k``, ``base_AR@k``) and of the Table-1 row logged first: True
            ``'oln'``, False ``'removed'`` (see the module docstring). The base-class AR
            uses the same rule with the roles swapped.
        both_protocols (bool): Also compute the other protocol and log it with its name in
            the key (``novel_removed_AR@k`` ... or ``novel_oln_AR@k`` ...). Both come from
            one pass over the detections. Defaults to True.
        class_agnostic (bool, optional): Whether predicted labels are meaningless (a
            single "object" class). None: True when the dataset has one class. A
            class-agnostic model has no base AP (reported as -1, printed N/A).
        ann_format (str): ``'coco'``, ``'lvis'`` (base AP by the lvis API, federated) or
            ``'auto'`` (``'lvis'`` when the categories carry ``frequency``).
        curve_nums (Sequence[int], optional): Budgets of the AR-vs-#proposals curve;
            default 1..max(proposal_nums).
        plot_dir (str, optional): Where ``open_world_metrics.json`` and
            ``ar_vs_proposals.png`` go; default the runner's log dir (next to its metrics
            json), else the directory of ``outfile_prefix``; nothing is written without one
            (:func:`mmowp.visualization.ar_curve.run_output_dir`).
        proposal_file (str, optional): Write the top-``max(proposal_nums)`` boxes per image
            as COCO-format json (``category_id=1``, class-agnostic proposals) for a
            downstream two-stage detector. With ``format_only=True`` and no
            ``proposal_file``, ``{outfile_prefix}.proposals.json`` is written.
        progress (bool, optional): Show an mmengine ``ProgressBar``; None: for >= 1000
            images.
        validate (bool): Check ``ann_file`` with
            :func:`~mmowp.datasets.validate.validate_coco_dict` (as the datasets do) when
            the metric is built: malformed records raise a ``ValueError`` naming the file,
            record and key; records the datasets would skip are counted in a warning (here
            they stay ground truth, as in pycocotools). Done at build time because the
            file is read then anyway (``CocoMetric`` loads it and the split is resolved
            against its categories), so a bad file stops a run before inference, not after
            it. Defaults to True.
        backend (str): The box evaluator: ``'fast'``
            (:func:`~mmowp.evaluation.fast_coco_eval.evaluate_boxes`) or ``'pycocotools'``
            (:func:`~mmowp.evaluation.coco_reference.evaluate_boxes_reference`: pycocotools'
            ``COCOeval`` with OLN's rule, the same numbers, minutes instead of seconds on
            COCO val). The LVIS base AP is the lvis API's with both. Defaults to 'fast'.
        iou_thrs, format_only, outfile_prefix, backend_args, collect_device, prefix:
            As :class:`mmdet.evaluation.CocoMetric`.
    """

    def __init__(self,
                 ann_file: Optional[str] = None,
                 known_classes: ClassSpec = 'voc',
                 novel_classes: Optional[ClassSpec] = None,
                 proposal_nums: Sequence[int] = (10, 100),
                 exclude_known_from_budget: bool = True,
                 both_protocols: bool = True,
                 class_agnostic: Optional[bool] = None,
                 ann_format: str = 'auto',
                 curve_nums: Optional[Sequence[int]] = None,
                 plot_dir: Optional[str] = None,
                 proposal_file: Optional[str] = None,
                 progress: Optional[bool] = None,
                 validate: bool = True,
                 backend: str = 'fast',
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
        if backend not in BACKENDS:
            raise ValueError(f'backend must be one of {list(BACKENDS)}, got {backend!r}')
        if ann_format not in ('auto', 'coco', 'lvis'):
            raise ValueError(f"ann_format must be 'auto', 'coco' or 'lvis', got {ann_format!r}")
        # ann_file=None: CocoMetric would load the file without checking it; it is loaded
        # (and validated) below instead
        super().__init__(ann_file=None, metric='bbox', proposal_nums=nums,
                         iou_thrs=iou_thrs, format_only=format_only,
                         outfile_prefix=outfile_prefix, backend_args=backend_args,
                         collect_device=collect_device, prefix=prefix)
        self.ann_file = ann_file
        self.validate = validate
        self.backend = backend
        self._coco_api = self._load_ann_file(ann_file)
        self.known_classes = known_classes
        self.novel_classes = novel_classes
        self.exclude_known_from_budget = exclude_known_from_budget
        self.protocol = 'oln' if exclude_known_from_budget else 'removed'
        self.protocols = [self.protocol] + (
            [p for p in PROTOCOLS if p != self.protocol] if both_protocols else [])
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
    def _load_ann_file(self, ann_file: str) -> COCO:
        """Read ``ann_file`` once, validate it (``validate``) and index it."""
        try:
            with get_local_path(ann_file, backend_args=self.backend_args) as local_path:
                with open(local_path) as f:
                    data = json.load(f)
        except FileNotFoundError as e:
            raise FileNotFoundError(f'OpenWorldCocoMetric: ann_file {ann_file} not found') \
                from e
        except json.JSONDecodeError as e:
            raise ValueError(f'{ann_file}: not a valid json file ({e})') from e
        if self.validate:
            validate_coco_dict(data, source=str(ann_file), purpose='evaluation')
        coco = COCO()
        coco.dataset = data
        with contextlib.redirect_stdout(io.StringIO()):  # "creating index..."
            coco.createIndex()
        coco.img_ann_map, coco.cat_img_map = coco.imgToAnns, coco.catToImgs
        return coco

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
    def _progress(self, n_img: int) -> Optional[Callable[[int, int], None]]:
        """A fresh progress callback for *one* :func:`evaluate_boxes` pass (None: off).

        Each pass gets its own bar; should a pass restart its count or change its total,
        the callback starts a new bar instead of feeding mmengine's ``ProgressBar`` a
        non-positive step (which it rejects with an ``AssertionError``).
        """
        show = self.progress if self.progress is not None else n_img >= 1000
        if not show:
            return None
        from mmengine.utils import ProgressBar
        state = {'bar': None, 'done': 0, 'total': None}

        def update(done: int, total: int) -> None:
            if state['bar'] is None or total != state['total'] or done < state['done']:
                if state['bar'] is not None and state['done'] < state['total']:
                    state['bar'].file.write('\n')
                # file: today's sys.stdout (ProgressBar's default is bound at import)
                state.update(bar=ProgressBar(total, file=sys.stdout), done=0, total=total)
            step = done - state['done']
            if step > 0:
                state['bar'].update(step)
                state['done'] = done
            if done >= total:
                state['bar'].file.write('\n')  # ProgressBar leaves the cursor on its line
                state['bar'].file.flush()
                state['bar'] = None
        return update

    def class_agnostic_recall(self, dt: Detections, eval_ids: Sequence[int]) -> EvalResult:
        """Class-agnostic recall on the GT of ``eval_ids`` under the configured protocol."""
        return self.class_agnostic_recalls(dt, [eval_ids])[0]

    def class_agnostic_recalls(self, dt: Detections,
                               splits: Sequence[Sequence[int]]) -> List[EvalResult]:
        """:meth:`class_agnostic_recall` for several category sets, in one pass over the
        detections."""
        return self.recalls_by_protocol(dt, splits, [self.protocol])[self.protocol]

    def recalls_by_protocol(self, dt: Detections, splits: Sequence[Sequence[int]],
                            protocols: Sequence[str]) -> Dict[str, List[EvalResult]]:
        """Class-agnostic recall of each category set under each protocol, in one pass.

        Every (protocol, split) pair is one ``ignore_split`` column of
        :func:`evaluate_boxes`: the GT outside the split is ignored, with OLN's budget
        rule for ``'oln'`` and without it for ``'removed'`` (for recall, ignoring that GT
        without the rule equals deleting it; see :mod:`.fast_coco_eval`).

        Args:
            dt (Detections): The detections.
            splits (Sequence[Sequence[int]]): Category ids whose GT is evaluated, per split.
            protocols (Sequence[str]): Keys of :data:`PROTOCOLS`.

        Returns:
            dict[str, list[EvalResult]]: One result per split, per protocol.
        """
        unknown = [p for p in protocols if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f'unknown protocols {unknown}; known: {list(PROTOCOLS)}')
        gt = self._ground_truth()
        img_ids = self._coco_api.get_img_ids()
        in_split = [np.isin(gt.category_id, np.asarray(ids, np.int64)) for ids in splits]
        cols = [~keep for _ in protocols for keep in in_split]
        flags = [p == 'oln' for p in protocols for _ in in_split]
        gt = GroundTruth(gt.image_id, gt.category_id, gt.bbox, gt.area, gt.iscrowd,
                         ignore_split=np.stack(cols, 1))
        res = BACKENDS[self.backend](
            gt, dt, img_ids, self.all_cat_ids, max_dets=self.proposal_nums, use_cats=False,
            iou_thrs=self.iou_thrs, exclude_split_from_budget=flags,
            progress=self._progress(len(img_ids)))
        n = len(splits)
        return {p: res[i * n:(i + 1) * n] for i, p in enumerate(protocols)}

    def base_ap(self, dt: Detections) -> Dict[str, float]:
        """Category-aware AP on the base classes (COCOeval, or the lvis API for LVIS)."""
        keep = np.isin(dt.category_id, np.asarray(self.known_ids, np.int64))
        if self.ann_format == 'lvis':
            return self._lvis_base_ap(dt, keep)
        # AP is read at the largest k only (as COCO's AP at maxDets=100)
        res = BACKENDS[self.backend](
            self._ground_truth(), dt, self._coco_api.get_img_ids(), self.known_ids,
            max_dets=self.proposal_nums[-1:], use_cats=True, iou_thrs=self.iou_thrs,
            compute_precision=True)
        return {k: v for k, v in summary(res, ap=True, ks=()).items() if k.startswith('AP')}

    def _lvis_base_ap(self, dt: Detections, keep: np.ndarray) -> Dict[str, float]:
        lvis = import_optional('lvis', 'LVIS base AP')
        LVIS, LVISEval, LVISResults = lvis.LVIS, lvis.LVISEval, lvis.LVISResults
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
            and the curves (see :meth:`evaluate_detections`).
        """
        agnostic = self._is_class_agnostic()
        dt = self._detections(preds, agnostic)
        n_classes = len((self.dataset_meta or {}).get('classes') or self.known_names)
        if not agnostic and n_classes > 1 and len(dt) >= 100 and \
                (dt.category_id == dt.category_id[0]).all():
            warnings.warn(f'all {len(dt)} predictions carry the same label: if the model is a '
                          'class-agnostic proposal model, set class_agnostic=True (its base AP '
                          'is meaningless)')
        return self.evaluate_detections(dt, agnostic)

    def key_prefix(self, protocol: str) -> str:
        """The infix of ``protocol``'s recall keys: ``''`` for the configured protocol
        (``novel_AR@k``), ``'removed_'`` / ``'oln_'`` for the other one."""
        return '' if protocol == self.protocol else f'{protocol}_'

    def evaluate_detections(self, dt: Detections,
                            agnostic: bool) -> Tuple[Dict[str, float], dict]:
        """All open-world numbers for detections in column form.

        Args:
            dt (Detections): Detections with ``category_id`` of ``ann_file`` (for
                ``agnostic``, any id of :attr:`all_cat_ids`).
            agnostic (bool): No base AP (-1) when True.

        Returns:
            tuple: the metrics dict (unprefixed, fractions in [0, 1], -1 where undefined;
            the other protocol's recall keys carry its name, see :meth:`key_prefix`) and
            the curves ``{'k': [...], 'novel': [...], 'base': [...], 'protocol': ...}``
            plus ``'novel_<other>'``/``'base_<other>'`` for the other protocol.
        """
        gt = self._ground_truth()
        n_novel = int(np.isin(gt.category_id, self.novel_ids).sum())
        if n_novel == 0:
            raise ValueError(f'no annotation of the novel classes {list(self.novel_names)[:20]} '
                             f'in {self.ann_file}: novel recall is undefined (check '
                             f'known_classes={self.known_classes!r} / novel_classes)')
        ks = self.proposal_nums
        n_base = int(np.isin(gt.category_id, self.known_ids).sum())
        splits = [self.novel_ids, self.known_ids] if n_base else [self.novel_ids]
        by_protocol = self.recalls_by_protocol(dt, splits, self.protocols)
        if not n_base:
            warnings.warn(f'no annotation of the known classes in {self.ann_file}: base AP/AR '
                          'are not computed')
        base_ap: Dict[str, float] = {}
        if n_base:
            base_ap = dict(base_AP=-1.0) if agnostic else \
                {f'base_{k}': v for k, v in self.base_ap(dt).items()}
        ks_curve = np.arange(1, ks[-1] + 1) if self.curve_nums is None \
            else np.asarray(self.curve_nums)
        metrics: Dict[str, float] = OrderedDict()
        curves: dict = {'k': ks_curve.tolist(), 'protocol': self.protocol}
        for protocol in self.protocols:
            tag = self.key_prefix(protocol)
            novel, base = (by_protocol[protocol] + [None])[:2]
            metrics.update(summary(novel, prefix=f'novel_{tag}', ks=ks))
            if base is not None:
                metrics.update(summary(base, prefix=f'base_{tag}', ks=ks))
            if not tag:
                metrics.update(base_ap)
            sfx = f'_{protocol}' if tag else ''
            curves[f'novel{sfx}'] = novel.curve_average('all')[ks_curve - 1].tolist()
            curves[f'base{sfx}'] = None if base is None else \
                base.curve_average('all')[ks_curve - 1].tolist()
        return metrics, curves

    def table_row(self, metrics: Dict[str, float],
                  protocol: Optional[str] = None) -> Tuple[str, str]:
        """Header and values (percent) in the shape of FCOS-OWP Table 1 / Table 2.

        The last column names the protocol whose recall the row shows.

        Args:
            metrics (dict): As :meth:`evaluate_detections` returns.
            protocol (str, optional): ``'oln'`` or ``'removed'``; default the configured
                one (``exclude_known_from_budget``).

        Returns:
            tuple[str, str]: The header line and the value line.
        """
        protocol = self.protocol if protocol is None else protocol
        if protocol not in PROTOCOLS:
            raise ValueError(f'unknown protocol {protocol!r}; known: {list(PROTOCOLS)}')
        tag = self.key_prefix(protocol)

        def fmt(v: Optional[float]) -> str:
            return 'N/A' if v is None or v < 0 else f'{100 * v:.2f}'
        cols = [('base AP', fmt(metrics.get('base_AP')))]
        cols += [(f'base AR{k}', fmt(metrics.get(f'base_{tag}AR@{k}')))
                 for k in self.proposal_nums]
        cols += [(f'novel AR{k}', fmt(metrics.get(f'novel_{tag}AR@{k}')))
                 for k in self.proposal_nums]
        cols.append(('protocol', protocol))
        header = ' | '.join(f'{name:>11}' for name, _ in cols)
        values = ' | '.join(f'{v:>11}' for _, v in cols)
        return header, values

    def size_row(self, metrics: Dict[str, float],
                 protocol: Optional[str] = None) -> Tuple[str, str]:
        """Header and values (percent) of AR by object size at ``max(proposal_nums)``,
        novel then base, for ``protocol`` (default the configured one)."""
        protocol = self.protocol if protocol is None else protocol
        tag, kmax = self.key_prefix(protocol), self.proposal_nums[-1]
        cols = []
        for split in ('novel', 'base'):
            for size in ('s', 'm', 'l'):
                v = metrics.get(f'{split}_{tag}AR_{size}@{kmax}')
                cols.append((f'{split} AR{kmax}_{size}',
                             'N/A' if v is None or v < 0 else f'{100 * v:.2f}'))
        cols.append(('protocol', protocol))
        return (' | '.join(f'{n:>13}' for n, _ in cols),
                ' | '.join(f'{v:>13}' for _, v in cols))

    def summary_text(self, metrics: Dict[str, float]) -> str:
        """The Table-1 rows of every computed protocol, AR by size and a legend."""
        rows = [self.table_row(metrics, p) for p in self.protocols]
        sizes = [self.size_row(metrics, p) for p in self.protocols]
        legend = [f'  {p}: {PROTOCOLS[p]} (keys {"novel_" + self.key_prefix(p)}AR@k, '
                  f'{"base_" + self.key_prefix(p)}AR@k)' for p in self.protocols]
        return '\n'.join(
            [f'Open-world evaluation (class-agnostic recall, IoU 0.50:0.95, '
             f'{len(self.known_names)} base / {len(self.novel_names)} novel classes):',
             rows[0][0]] + [v for _, v in rows]
            + [f'AR by object size (k = {self.proposal_nums[-1]}):', sizes[0][0]]
            + [v for _, v in sizes]
            + ['GT of the split not evaluated (base GT for novel AR, novel GT for base AR):']
            + legend)

    # ------------------------------------------------------------------ outputs
    def save_outputs(self, metrics: Dict[str, float], curves: dict,
                     out_dir: Optional[str], extra: Optional[dict] = None) -> Optional[str]:
        """Write ``open_world_metrics.json`` and ``ar_vs_proposals.png`` into ``out_dir``.

        The plot is :func:`mmowp.visualization.ar_curve.plot_protocol_curves`'s; without
        matplotlib (an optional extra) only the json is written, with a warning.

        Args:
            metrics (dict): As :meth:`evaluate_detections` returns.
            curves (dict): As :meth:`evaluate_detections` returns.
            out_dir (str, optional): The directory; nothing is written without one.
            extra (dict, optional): More top-level entries of the json.

        Returns:
            str | None: The PNG path (None when none was written).
        """
        if not out_dir:
            return None
        os.makedirs(out_dir, exist_ok=True)
        with open(osp.join(out_dir, 'open_world_metrics.json'), 'w') as f:
            json.dump(dict(**(extra or {}), metrics=metrics, ar_vs_proposals=curves,
                           known_classes=list(self.known_names),
                           novel_classes=list(self.novel_names),
                           exclude_known_from_budget=self.exclude_known_from_budget,
                           protocol=self.protocol, protocols=self.protocols,
                           ann_file=self.ann_file), f, indent=1)
        from ..visualization.ar_curve import plot_protocol_curves
        try:
            return plot_protocol_curves(curves, self.protocols,
                                        osp.join(out_dir, 'ar_vs_proposals.png'))
        except ImportError as e:  # matplotlib is an optional extra
            warnings.warn(f'{e}; {out_dir}/ar_vs_proposals.png is not drawn')
            return None

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
            ``base_AR_{s,m,l}@K`` (configured protocol), ``base_AP*``, and with
            ``both_protocols`` the same recall keys of the other protocol with its name
            (``novel_removed_AR@k`` ...) (fractions; -1: undefined).
        """
        logger: MMLogger = MMLogger.get_current_instance()
        preds = [pred for _, pred in results]
        if self.proposal_file or self.format_only:
            path = self.proposal_file or f'{self.outfile_prefix}.proposals.json'
            logger.info(f'proposals written to {self.export_proposals(preds, path)}')
        if self.format_only:
            return OrderedDict()
        metrics, curves = self.evaluate_predictions(preds)
        logger.info(self.summary_text(metrics))
        from ..visualization.ar_curve import run_output_dir
        png = self.save_outputs(metrics, curves,
                                run_output_dir(self.plot_dir, self.outfile_prefix))
        if png:
            logger.info(f'AR-vs-#proposals plot: {png}')
        return metrics
