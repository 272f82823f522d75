"""Detections of an open-world model: proposals on known objects vs unknown ones.

:class:`OpenWorldDetLocalVisualizer` is mmdet's ``DetLocalVisualizer`` (so
``DetVisualizationHook`` and ``tools/test.py --show-dir`` / ``mim test --show-dir`` use
it unchanged) with open-world colours. Left panel: the GT of the dataset (base classes,
green) and, when ``ann_file`` is given, the novel-class GT of that file (magenta, the
objects the model never saw labelled). Right panel: each prediction above the score
threshold, coloured by what it covers (best IoU >= ``match_iou_thr``):

* green, **known**: a base-class GT box;
* magenta, **novel**: a novel-class GT box (only with ``ann_file``) — an unknown object found;
* orange, **other**: neither (an un-annotated object, a part, or background).

Predictions with the label ``len(classes)`` (an ``unknown_score_mode`` head's "unknown"
class) are labelled ``unknown``; a class-agnostic model's boxes are labelled ``object``.
"""
from typing import Dict, List, Optional, Sequence

import mmcv
import numpy as np
import torch
from mmdet.registry import VISUALIZERS
from mmdet.structures.bbox import bbox_overlaps
from mmdet.visualization import DetLocalVisualizer
from mmengine.dist import master_only
from mmengine.structures import InstanceData

#: Edge colours (RGB) of the three kinds of box.
COLORS: Dict[str, tuple] = {'known': (40, 200, 60), 'novel': (230, 40, 230),
                            'other': (255, 150, 0)}


@VISUALIZERS.register_module()
class OpenWorldDetLocalVisualizer(DetLocalVisualizer):
    """``DetLocalVisualizer`` colouring proposals by known / novel / other.

    Args:
        name (str): Instance name (MMEngine's ``ManagerMixin``).
        ann_file (str, optional): COCO json with *all* classes (the evaluator's
            ``ann_file``), to draw novel GT and recognise proposals on novel objects.
        class_agnostic (bool, optional): Label boxes ``object`` instead of a class name.
            None (default): set from the model's head by ``ClassAgnosticFromModelHook``
            (class names if nothing sets it).
        match_iou_thr (float): IoU for "covers a GT box". Defaults to 0.5.
        max_dets (int, optional): Draw at most this many top-scoring predictions (after
            the hook's score threshold). Defaults to 20.
        min_size (int): Images smaller than this (longer side) are upscaled before
            drawing, so that labels stay readable on small images. Defaults to 512.
        **kwargs: As :class:`mmdet.visualization.DetLocalVisualizer`.
    """

    def __init__(self, name: str = 'visualizer', ann_file: Optional[str] = None,
                 class_agnostic: Optional[bool] = None, match_iou_thr: float = 0.5,
                 max_dets: Optional[int] = 20, min_size: int = 512, **kwargs) -> None:
        kwargs.setdefault('line_width', 2)
        super().__init__(name=name, **kwargs)
        self.ann_file = ann_file
        self.class_agnostic = class_agnostic
        self.match_iou_thr = match_iou_thr
        self.max_dets = max_dets
        self.min_size = min_size
        self._novel: Optional[Dict[int, np.ndarray]] = None

    def novel_gt(self, img_id: int) -> np.ndarray:
        """(N, 4) x1y1x2y2 novel-class GT boxes of an image of ``ann_file`` (empty without)."""
        if self.ann_file is None:
            return np.zeros((0, 4), np.float32)
        if self._novel is None:
            from mmengine.fileio import load
            data = load(self.ann_file)
            known = set((self.dataset_meta or {}).get('classes') or ())
            novel_ids = {c['id'] for c in data['categories'] if c['name'] not in known}
            boxes: Dict[int, List[list]] = {}
            for a in data['annotations']:
                if a['category_id'] in novel_ids and not a.get('iscrowd', 0):
                    x, y, w, h = a['bbox']
                    boxes.setdefault(a['image_id'], []).append([x, y, x + w, y + h])
            self._novel = {k: np.asarray(v, np.float32) for k, v in boxes.items()}
        return self._novel.get(int(img_id), np.zeros((0, 4), np.float32))

    def kinds(self, pred: np.ndarray, known: np.ndarray, novel: np.ndarray) -> List[str]:
        """'known' / 'novel' / 'other' for each predicted box (best-IoU GT kind)."""
        kinds = ['other'] * len(pred)
        gts = [('known', known), ('novel', novel)]
        best = np.zeros(len(pred))
        for name, gt in gts:
            if len(pred) == 0 or len(gt) == 0:
                continue
            iou = bbox_overlaps(torch.as_tensor(pred, dtype=torch.float32),
                                torch.as_tensor(gt, dtype=torch.float32)).numpy().max(1)
            for i, v in enumerate(iou):
                if v >= self.match_iou_thr and v > best[i]:
                    kinds[i], best[i] = name, v
        return kinds

    def _label_texts(self, labels: Sequence[int], scores: Sequence[float]) -> List[str]:
        classes = list((self.dataset_meta or {}).get('classes') or ())
        texts = []
        for lab, s in zip(labels, scores):
            if self.class_agnostic:
                name = 'object'
            elif lab == len(classes):
                name = 'unknown'
            else:
                name = classes[lab] if lab < len(classes) else f'class {lab}'
            texts.append(f'{name} {100 * s:.0f}')
        return texts

    def _draw_boxes(self, image: np.ndarray, boxes: np.ndarray, colors: List[tuple],
                    texts: Optional[List[str]] = None) -> np.ndarray:
        self.set_image(image)
        if len(boxes):
            self.draw_bboxes(boxes, edge_colors=colors, line_widths=self.line_width,
                             alpha=self.alpha)
            if texts:
                for box, color, text in zip(boxes, colors, texts):
                    self.draw_texts(text, box[:2] + 1, colors=color, font_sizes=9,
                                    bboxes=[dict(facecolor='black', alpha=0.6, pad=0.3,
                                                 edgecolor='none')])
        return self.get_image()

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample: Optional[object] = None,
                       draw_gt: bool = True, draw_pred: bool = True, show: bool = False,
                       wait_time: float = 0, out_file: Optional[str] = None,
                       pred_score_thr: float = 0.3, step: int = 0) -> None:
        """Draw GT (left) and coloured predictions (right); see the module docstring."""
        image = image.clip(0, 255).astype(np.uint8)
        if data_sample is None:
            return super().add_datasample(name, image, None, draw_gt, draw_pred, show,
                                          wait_time, out_file, pred_score_thr, step)
        data_sample = data_sample.cpu()
        gt = data_sample.get('gt_instances', InstanceData())
        known = np.asarray(getattr(gt.get('bboxes', np.zeros((0, 4))), 'tensor',
                                   gt.get('bboxes', np.zeros((0, 4))))).reshape(-1, 4)
        novel = self.novel_gt(data_sample.img_id) if 'img_id' in data_sample else \
            np.zeros((0, 4), np.float32)
        scale = max(1.0, self.min_size / max(image.shape[:2]))
        if scale > 1:
            image = mmcv.imrescale(image, scale, interpolation='nearest')
        panels = []
        if draw_gt:
            boxes = np.concatenate([known, novel])
            colors = [COLORS['known']] * len(known) + [COLORS['novel']] * len(novel)
            # class names on the GT boxes (mmdet's browse_dataset shows only this panel)
            classes = list((self.dataset_meta or {}).get('classes') or ())
            labels = [int(i) for i in gt.get('labels', [])]
            texts = ([classes[i] if i < len(classes) else f'class {i}' for i in labels]
                     + ['novel'] * len(novel)) if len(labels) == len(known) else None
            panels.append(self._draw_boxes(image, boxes * scale, colors, texts))
        if draw_pred and 'pred_instances' in data_sample:
            pred = data_sample.pred_instances
            pred = pred[pred.scores > pred_score_thr]
            order = pred.scores.argsort(descending=True)[:self.max_dets]
            pred = pred[order]
            boxes = pred.bboxes.numpy().reshape(-1, 4)
            kinds = self.kinds(boxes, known, novel)
            texts = self._label_texts(pred.labels.tolist(), pred.scores.tolist())
            # draw 'other' first so that known / novel boxes are on top
            order = sorted(range(len(kinds)), key=lambda i: kinds[i] != 'other')
            panels.append(self._draw_boxes(image, boxes[order] * scale,
                                           [COLORS[kinds[i]] for i in order],
                                           [texts[i] for i in order]))
        drawn = np.concatenate(panels, axis=1) if panels else image
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)


def configure_visualizer(cfg: 'Config') -> None:  # noqa: F821
    """Fill ``cfg.visualizer`` for :class:`OpenWorldDetLocalVisualizer` from the rest of
    the config (used by ``tools/test.py --show-dir``): ``ann_file`` from the test
    evaluator (the json with the novel classes). Keys already set in ``cfg.visualizer`` are
    kept; ``class_agnostic`` comes from the model (``ClassAgnosticFromModelHook``).
    """
    vis = cfg.get('visualizer')
    if not vis or vis.get('type') != 'OpenWorldDetLocalVisualizer':
        return
    evaluators = cfg.get('test_evaluator') or []
    for ev in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
        if ev.get('ann_file') and vis.get('ann_file') is None:
            vis['ann_file'] = ev['ann_file']
            break
