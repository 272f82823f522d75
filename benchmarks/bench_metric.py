"""Wall time of OpenWorldCocoMetric vs pycocotools COCOeval(useCats=0), same run, same data.

Two synthetic cases (seeded):

* COCO-like: 5,000 images of 640x480, ~7 GT per image over the 80 COCO classes (1 % crowd),
  100 detections per image (40 % near a GT, the rest anywhere), labels from the 20 VOC
  (base) classes; k = 10, 100.
* LVIS-like: 300 detections per image, ~12 GT per image over 1,203 categories with LVIS's
  r/c/f counts; k = 300.

For each case it times
  (a) pycocotools: ``loadRes`` + ``evaluate`` + ``accumulate`` with ``useCats=0``,
      ``maxDets`` = the k's and OLN's budget rule (``mmowp.evaluation.coco_reference``),
      i.e. novel-class AR@k;
  (b) ours, the same quantity: ``OpenWorldCocoMetric.class_agnostic_recall`` incl. building
      the arrays from per-image predictions;
  (c) COCO case only: ours, the whole metric (novel AR + base AR + base AP).
and checks the recall arrays of (a) and (b) are identical, then prints the ratios.

Usage::

    python benchmarks/bench_metric.py [--images 5000] [--lvis-images 2000]
"""
import argparse
import contextlib
import gc
import io
import json
import os.path as osp
import sys
import tempfile
import time
import tracemalloc
import warnings

import numpy as np

# benchmark this checkout, not an installed copy of mmowp
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmowp.datasets.splits import COCO_CLASSES, VOC_CLASSES  # noqa: E402
from mmowp.evaluation import OpenWorldCocoMetric  # noqa: E402
from mmowp.evaluation.coco_reference import reference_eval  # noqa: E402


def make_case(n_img, dets_per_img, gt_per_img, categories, label_ids, seed=0):
    rng = np.random.default_rng(seed)
    images, anns, preds = [], [], []
    cat_ids = np.array([c['id'] for c in categories])
    for i in range(n_img):
        img_id = i + 1
        images.append(dict(id=img_id, width=640, height=480, file_name=f'{img_id}.jpg'))
        n = rng.poisson(gt_per_img)
        xy = rng.uniform(0, 560, (n, 2))
        wh = np.exp(rng.uniform(np.log(4), np.log(400), (n, 2)))
        own = []
        for (x, y), (w, h) in zip(xy, wh):
            box = [float(x), float(y), float(w), float(h)]
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=int(rng.choice(cat_ids)), bbox=box,
                             area=float(w * h * rng.uniform(0.4, 0.9)),
                             iscrowd=int(rng.random() < 0.01)))
            own.append(box)
        k = dets_per_img
        near = rng.random(k) < 0.4 if own else np.zeros(k, bool)
        pick = np.array(own)[rng.integers(0, max(len(own), 1), k)] if own else None
        x, y = rng.uniform(0, 560, k), rng.uniform(0, 400, k)
        w, h = np.exp(rng.uniform(np.log(4), np.log(400), (2, k)))
        if own:
            x = np.where(near, pick[:, 0] + rng.normal(0, 0.05, k) * pick[:, 2], x)
            y = np.where(near, pick[:, 1] + rng.normal(0, 0.05, k) * pick[:, 3], y)
            w = np.where(near, pick[:, 2] * rng.uniform(0.8, 1.25, k), w)
            h = np.where(near, pick[:, 3] * rng.uniform(0.8, 1.25, k), h)
        boxes = np.stack([x, y, x + w, y + h], 1).astype(np.float32)
        preds.append(dict(img_id=img_id, bboxes=boxes,
                          scores=rng.random(k).astype(np.float32),
                          labels=rng.integers(0, len(label_ids), k)))
    return dict(images=images, annotations=anns, categories=categories), preds


def results_json(preds, label_ids):
    out = []
    for p in preds:
        xyxy = p['bboxes'].astype(np.float64)
        for b, s, lab in zip(xyxy.tolist(), p['scores'].tolist(), p['labels'].tolist()):
            out.append(dict(image_id=p['img_id'], bbox=[b[0], b[1], b[2] - b[0], b[3] - b[1]],
                            score=s, category_id=label_ids[lab]))
    return out


def run_case(name, gt, preds, known, classes, ks, ann_format, full):
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        ann = osp.join(tmp, 'gt.json')
        with open(ann, 'w') as f:
            json.dump(gt, f)
        with contextlib.redirect_stdout(io.StringIO()):
            metric = OpenWorldCocoMetric(ann_file=ann, known_classes=known, proposal_nums=ks,
                                         ann_format=ann_format, progress=False)
    metric.dataset_meta = dict(classes=classes)
    n_det = sum(len(p['scores']) for p in preds)
    print(f'\n== {name}: {len(gt["images"])} images, {len(gt["annotations"])} GT, '
          f'{n_det} detections, k={list(ks)}')

    def ours_run():
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            dt = metric._detections(preds, agnostic=False)
            return metric.class_agnostic_recall(dt, metric.novel_ids)

    # ours first: pycocotools leaves millions of Python objects behind that would make the
    # garbage collector, not our code, the cost of anything timed after it
    # best of 3 (the machine may be shared); pycocotools is run once (minutes)
    walls, cpus = [], []
    for _ in range(3):
        t0, c0 = time.perf_counter(), time.process_time()
        ours = ours_run()
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    t_ours, c_ours = min(walls), min(cpus)
    print(f'ours, novel AR@k, best of 3: wall {t_ours:6.2f} s  cpu {c_ours:6.2f} s (all runs: wall '
          f'{", ".join(f"{w:.2f}" for w in walls)}; cpu {", ".join(f"{c:.2f}" for c in cpus)})',
          flush=True)
    tracemalloc.start()
    ours_run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if full:
        t_full = c_full = float('inf')
        for _ in range(2):
            t0, c0 = time.perf_counter(), time.process_time()
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                metrics, _ = metric.evaluate_predictions(preds)
            t_full = min(t_full, time.perf_counter() - t0)
            c_full = min(c_full, time.process_time() - c0)

    res = results_json(preds, metric._label_cat_ids())
    t0, c0 = time.perf_counter(), time.process_time()
    ref = reference_eval(gt, res, max_dets=ks, use_cats=False, split_cat_ids=metric.known_ids,
                         exclude_split_from_budget=True)
    t_ref, c_ref = time.perf_counter() - t0, time.process_time() - c0
    diff = float(np.abs(ours.recall - ref.eval['recall']).max())
    print(f'pycocotools COCOeval(useCats=0) + OLN rule, one run: wall {t_ref:8.2f} s  '
          f'cpu {c_ref:8.2f} s')
    print(f'speed-up of ours (best of 3) vs pycocotools: wall {t_ref / t_ours:5.1f}x  '
          f'cpu {c_ref / c_ours:5.1f}x'
          f'   max |recall diff| = {diff:.1e}')
    print(f'  ours peak memory (tracemalloc, inputs excluded): {peak / 2**20:.0f} MiB')
    for k in ks:
        print(f'  novel AR@{k}: ours {ours.average("recall", max_det=k):.6f}   pycocotools '
              f'{float(np.mean(ref.eval["recall"][:, 0, 0, list(ks).index(k)])):.6f}')
    if full:
        print(f'ours, whole metric (novel AR, base AR, base AP), best of 2: wall {t_full:7.2f} s '
              f' cpu '
              f'{c_full:7.2f} s  ({t_ref / t_full:.1f}x / {c_ref / c_full:.1f}x faster than the '
              'one pycocotools run above)')
        print('  ' + '  '.join(f'{k}={v:.4f}' for k, v in metrics.items()
                               if k in ('base_AP', 'base_AR@100', 'novel_AR@10', 'novel_AR@100')))
    assert diff == 0.0, 'recall differs from pycocotools'
    return t_ref / t_ours, c_ref / c_ours


def lvis_categories():
    rng = np.random.default_rng(1)
    freq = np.array(['r'] * 337 + ['c'] * 461 + ['f'] * 405)
    rng.shuffle(freq)
    return [dict(id=i + 1, name=f'cat_{i + 1}', frequency=str(f)) for i, f in enumerate(freq)]


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--images', type=int, default=5000)
    p.add_argument('--lvis-images', type=int, default=2000)
    args = p.parse_args()

    coco_cats = [dict(id=i + 1, name=n) for i, n in enumerate(COCO_CLASSES)]
    gt, preds = make_case(args.images, 100, 7, coco_cats, VOC_CLASSES)
    r1 = run_case('COCO-like (VOC -> non-VOC)', gt, preds, 'voc', VOC_CLASSES, (10, 100),
                  'coco', full=True)

    cats = lvis_categories()
    gt, preds = make_case(args.lvis_images, 300, 12, cats, range(1103), seed=2)
    from mmowp.datasets.splits import resolve_classes
    base = resolve_classes('lvis_base', cats)
    r2 = run_case('LVIS-like (base -> novel)', gt, preds, 'lvis_base', base, (300, ),
                  'coco', full=False)
    print(f'\nspeed-up vs pycocotools (wall, cpu): COCO-like {r1[0]:.1f}x, {r1[1]:.1f}x; '
          f'LVIS-like {r2[0]:.1f}x, {r2[1]:.1f}x')


if __name__ == '__main__':
    main()
