"""Wall time of OpenWorldCocoMetric vs pycocotools vs faster-coco-eval, same run, same data.

Two synthetic cases (seeded):

* COCO-like: 5,000 images of 640x480, ~7 GT per image over the 80 COCO classes (1 % crowd),
  100 detections per image (40 % near a GT, the rest anywhere), labels from the 20 VOC
  (base) classes; k = 10, 100.
* LVIS-like: 300 detections per image, ~12 GT per image over 1,203 categories with LVIS's
  r/c/f counts; k = 300.

Novel-class AR@k is timed under both evaluation protocols (see
:mod:`mmowp.evaluation.open_world_metric`), each tool where it applies:

* OLN's protocol (base GT ignored, OLN's budget rule): ours and pycocotools with the rule
  (``mmowp.evaluation.coco_reference``); faster-coco-eval has no such rule.
* 'removed' (base GT deleted): plain class-agnostic recall (``useCats=0``) on the GT
  without the base annotations, which all three compute: ours, pycocotools ``COCOeval``
  and faster-coco-eval's ``COCOeval_faster`` (C++; optional, ``pip install -r
  requirements/benchmarks.txt``; its column is skipped with a note when it is missing).

Every timing starts from the same in-memory inputs and includes indexing the ground truth
(ours: the metric's GT arrays; the others: ``COCO`` from the dict and ``loadRes`` of the
results list); ours and faster-coco-eval run in turn (``benchmarks/_timing.py``), best of 3,
pycocotools one run (minutes). Wall and process CPU time are printed; on a shared machine
the CPU time is the steadier figure, and the summary ratios use it.
The recall arrays of all tools must be identical (the script stops otherwise). Then, COCO
case only, ours for the whole metric (both protocols, novel and base AR, base AP).

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
import tracemalloc
import warnings

import numpy as np

# benchmark this checkout, not an installed copy of mmowp
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from _timing import best, interleaved, timed  # noqa: E402

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


def faster_coco_eval_removed(gt, res, removed_ids, ks):
    """faster-coco-eval's COCOeval_faster, useCats=0, on the GT without ``removed_ids``."""
    from faster_coco_eval import COCO as FasterCOCO
    from faster_coco_eval import COCOeval_faster
    gt = dict(gt, annotations=[a for a in gt['annotations']
                               if a['category_id'] not in set(removed_ids)])
    coco_gt = FasterCOCO(gt)
    coco_dt = coco_gt.loadRes(res)
    ev = COCOeval_faster(coco_gt, coco_dt, 'bbox', print_function=lambda *a, **k: None)
    ev.params.maxDets = list(ks)
    ev.params.useCats = 0
    ev.evaluate()
    ev.accumulate()
    return ev


def run_case(name, gt, preds, known, classes, ks, ann_format, full):
    gc.collect()
    with tempfile.TemporaryDirectory() as tmp:
        ann = osp.join(tmp, 'gt.json')
        with open(ann, 'w') as f:
            json.dump(gt, f)
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter('ignore')  # boxes beyond the image: counted warning
            metric = OpenWorldCocoMetric(ann_file=ann, known_classes=known, proposal_nums=ks,
                                         ann_format=ann_format, progress=False)
    metric.dataset_meta = dict(classes=classes)
    n_det = sum(len(p['scores']) for p in preds)
    print(f'\n== {name}: {len(gt["images"])} images, {len(gt["annotations"])} GT, '
          f'{n_det} detections, k={list(ks)}')

    def ours(protocol):
        def run():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                metric._gt = None  # index the GT inside the timing, as the others do
                dt = metric._detections(preds, agnostic=False)
                return metric.recalls_by_protocol(dt, [metric.novel_ids], [protocol])[
                    protocol][0]
        return run

    res = results_json(preds, metric._label_cat_ids())
    last = {}

    def keep(name, fn):
        def run():
            last[name] = fn()
        return run
    fns = {'oln': keep('oln', ours('oln')), 'removed': keep('removed', ours('removed'))}
    try:
        import faster_coco_eval  # noqa: F401
        fns['fce'] = keep('fce', lambda: faster_coco_eval_removed(gt, res, metric.known_ids,
                                                                  ks))
    except ImportError:
        print('faster-coco-eval is not installed (pip install -r requirements/benchmarks.txt): '
              'its column is skipped')
    # ours and faster-coco-eval in turn (same warm state and background load), best of 3;
    # pycocotools after them, once: it leaves millions of Python objects behind that would
    # make the garbage collector, not the timed code, the cost of anything timed after it
    times = interleaved(fns, reps=3)
    ours_oln, ours_rem, fce = last['oln'], last['removed'], last.get('fce')
    t_oln, c_oln = best(times['oln']), best(times['oln'], 'cpu')
    t_rem, c_rem = best(times['removed']), best(times['removed'], 'cpu')
    if fce is not None:
        t_fce, c_fce = best(times['fce']), best(times['fce'], 'cpu')
    tracemalloc.start()
    ours('removed')()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    if full:
        def whole():
            with warnings.catch_warnings():
                warnings.simplefilter('ignore')
                return metric.evaluate_predictions(preds)[0]
        t_whole = interleaved({'whole': keep('whole', whole)}, reps=2, warmup=0)['whole']
        metrics = last['whole']
        t_full, c_full = best(t_whole), best(t_whole, 'cpu')

    ref_rem, t = timed(reference_eval, gt, res, max_dets=ks, use_cats=False,
                       remove_cat_ids=metric.known_ids, exclude_split_from_budget=False)
    t_ref_rem, c_ref_rem = t
    ref_oln, t = timed(reference_eval, gt, res, max_dets=ks, use_cats=False,
                       split_cat_ids=metric.known_ids, exclude_split_from_budget=True)
    t_ref_oln, c_ref_oln = t
    rows, checks = [], []

    def diff(a, b):
        return float(np.abs(a.recall - b.eval['recall']).max())
    checks.append(('ours vs pycocotools, OLN', diff(ours_oln, ref_oln)))
    checks.append(('ours vs pycocotools, removed', diff(ours_rem, ref_rem)))
    if fce is not None:
        checks.append(('ours vs faster-coco-eval, removed', diff(ours_rem, fce)))
    rows.append(('OLN (base GT ignored, budget rule)', t_oln, c_oln, None, None, t_ref_oln,
                 c_ref_oln))
    rows.append(("'removed' = plain class-agnostic recall", t_rem, c_rem,
                 t_fce if fce is not None else None, c_fce if fce is not None else None,
                 t_ref_rem, c_ref_rem))

    def cell(t, c):
        return f'{"n/a":>16}' if t is None else f'{t:7.2f} / {c:6.2f}'
    print(f'{"novel AR@k, protocol":41} | {"ours":>16} | {"faster-coco-eval":>16} | '
          f'{"pycocotools":>16}   (wall / cpu s)')
    for label, t_o, c_o, t_f, c_f, t_p, c_p in rows:
        print(f'{label:41} | {cell(t_o, c_o)} | {cell(t_f, c_f)} | {cell(t_p, c_p)}')
    print('  all runs (wall / cpu s): ' + '; '.join(
        f'{n} ' + ', '.join(f'{t.wall:.2f}/{t.cpu:.2f}' for t in ts) for n, ts in times.items()))
    for kind, (o, r, f, p_o, p_r) in (('wall', (t_oln, t_rem, t_fce if fce else None,
                                                t_ref_oln, t_ref_rem)),
                                      ('cpu', (c_oln, c_rem, c_fce if fce else None,
                                               c_ref_oln, c_ref_rem))):
        print(f'  speed-up of ours ({kind}): vs pycocotools {p_o / o:.1f}x (OLN), '
              f'{p_r / r:.1f}x (removed)'
              + (f'; vs faster-coco-eval {f / r:.1f}x (removed)' if f else ''))
    print(f'  ours peak memory (tracemalloc, inputs excluded): {peak / 2**20:.0f} MiB')
    for k in ks:
        m = list(ks).index(k)
        print(f'  novel AR@{k}: OLN ours {ours_oln.average("recall", max_det=k):.6f} '
              f'pycocotools {float(np.mean(ref_oln.eval["recall"][:, 0, 0, m])):.6f} | '
              f'removed ours {ours_rem.average("recall", max_det=k):.6f} '
              f'pycocotools {float(np.mean(ref_rem.eval["recall"][:, 0, 0, m])):.6f}'
              + (f' faster-coco-eval {float(np.mean(fce.eval["recall"][:, 0, 0, m])):.6f}'
                 if fce else ''))
    print('  max |recall diff|: ' + ', '.join(f'{n} {d:.1e}' for n, d in checks))
    if full:
        print(f'ours, whole metric (both protocols: novel and base AR; base AP), best of 2: '
              f'wall {t_full:.2f} s, cpu {c_full:.2f} s')
        print('  ' + '  '.join(f'{k}={v:.4f}' for k, v in metrics.items()
                               if k in ('base_AP', 'base_AR@100', 'novel_AR@10', 'novel_AR@100',
                                        'novel_removed_AR@10', 'novel_removed_AR@100')))
    bad = [n for n, d in checks if d != 0.0]
    assert not bad, f'recall differs: {bad}'
    return c_ref_oln / c_oln, c_ref_rem / c_rem, (c_fce / c_rem if fce else None)


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
    for name, r in (('COCO-like', r1), ('LVIS-like', r2)):
        print(f'\n{name}: ours is {r[0]:.1f}x (OLN) / {r[1]:.1f}x (removed) faster than '
              'pycocotools' + (f', {r[2]:.1f}x faster than faster-coco-eval (removed)'
                               if r[2] else '') + ' (cpu time)')


if __name__ == '__main__':
    main()
