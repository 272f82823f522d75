"""Open-world evaluation of any detector's COCO-format results, from the command line.

Researchers with OLN, GGN, GOOD or detectron2 models have a results file (the list of
``{"image_id", "category_id", "bbox": [x, y, w, h], "score"}`` that pycocotools'
``loadRes`` reads) and the ground truth of *all* classes. This prints the FCOS-OWP Table-1
row under both evaluation protocols (OLN's and "removed", see
:mod:`mmowp.evaluation.open_world_metric`), AR by object size, and writes
``open_world_metrics.json`` and ``ar_vs_proposals.png``, with the same evaluator as
:class:`~mmowp.evaluation.OpenWorldCocoMetric`. No config and no model are needed::

    python -m mmowp.evaluate GT.json RESULTS.json --known voc [--k 10 100]
    mmowp-evaluate lvis_v1_val.json results.json --known lvis_base --k 300

Both files are checked first; a malformed record stops the run with an error that names
the file, the record and the key (ground truth: :func:`mmowp.datasets.validate.
validate_coco_dict`; results: ``image_id`` present in the ground truth, ``bbox`` four
finite numbers with ``w, h >= 0``, ``score`` finite, ``category_id`` a category of the
ground truth, unless the results are class-agnostic, where it is ignored).
"""
import argparse
import json
import math
import os.path as osp
import sys
import warnings
from typing import List, Optional, Sequence, Set, Tuple, Union

import numpy as np

from .evaluation.fast_coco_eval import Detections


def _classes(value: Optional[str]) -> Optional[Union[str, List[str]]]:
    """A split name, or comma-separated category names."""
    if value is None or ',' not in value:
        return value
    return [v.strip() for v in value.split(',') if v.strip()]


def _number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def load_results(path: str, image_ids: Set[int], cat_ids: Set[int],
                 class_agnostic: Optional[bool],
                 known_ids: Sequence[int] = ()) -> Tuple[Detections, bool]:
    """Read and check a COCO-format results file.

    Args:
        path (str): The results json (a list of detections).
        image_ids (set[int]): Image ids of the ground truth.
        cat_ids (set[int]): Category ids of the ground truth.
        class_agnostic (bool, optional): Whether ``category_id`` is meaningless (then it
            is not checked and may be missing). None: True when every entry carries the
            same ``category_id`` (a proposal model), unless that is the only known class.
        known_ids (Sequence[int]): Category ids of the known classes (for the None rule).

    Returns:
        tuple: :class:`Detections` (``category_id`` as given; 0 where class-agnostic) and
        the ``class_agnostic`` decision.
    """
    try:
        with open(path) as f:
            data = json.load(f)
    except FileNotFoundError as e:
        raise FileNotFoundError(f'results file {path} not found') from e
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not a valid json file ({e})') from e
    if isinstance(data, dict) and isinstance(data.get('annotations'), list):
        data = data['annotations']
    if not isinstance(data, list):
        raise ValueError(f'{path}: a results file is a list of {{"image_id", "category_id", '
                         f'"bbox", "score"}} objects, got a {type(data).__name__}')
    n = len(data)
    img = np.zeros(n, np.int64)
    box = np.zeros((n, 4), np.float64)
    score = np.zeros(n, np.float64)
    cats: list = [None] * n
    for i, r in enumerate(data):
        if not isinstance(r, dict):
            raise ValueError(f'{path}: entry #{i} is a {type(r).__name__}, not an object')
        where = f'{path}: entry #{i}'
        for key in ('image_id', 'bbox', 'score'):
            if key not in r:
                raise ValueError(f'{where} has no {key!r} key')
        iid = r['image_id']
        if not isinstance(iid, int) or isinstance(iid, bool):
            raise ValueError(f'{where}: "image_id" must be an integer, got {iid!r}')
        where = f'{where} (image_id {iid})'
        if iid not in image_ids:
            raise ValueError(f'{where}: image_id {iid} is not an image of the ground truth')
        b = r['bbox']
        if not isinstance(b, (list, tuple)) or len(b) != 4 or not all(_number(v) for v in b):
            raise ValueError(f'{where}: "bbox" must be 4 finite numbers [x, y, w, h], got '
                             f'{b!r}')
        if b[2] < 0 or b[3] < 0:
            raise ValueError(f'{where}: "bbox" {list(b)} has a negative width or height '
                             '(expected [x, y, w, h])')
        if not _number(r['score']):
            raise ValueError(f'{where}: "score" must be a finite number, got {r["score"]!r}')
        img[i], box[i], score[i] = iid, b, r['score']
        cats[i] = r.get('category_id')
    if class_agnostic is None:
        first = cats[0] if cats else None
        class_agnostic = all(c == first and type(c) is type(first) for c in cats) and \
            list(known_ids) != [first]
    cat = np.zeros(n, np.int64)
    if not class_agnostic:
        for i, c in enumerate(cats):
            if not isinstance(c, int) or isinstance(c, bool) or c not in cat_ids:
                what = ' has no "category_id" key' if c is None else \
                    f': category_id {c!r} is not a category of the ground truth'
                raise ValueError(f'{path}: entry #{i} (image_id {int(img[i])}){what} (pass '
                                 '--class-agnostic to ignore categories)')
            cat[i] = c
    return Detections(img, cat, box, score), bool(class_agnostic)


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """Command-line arguments of :func:`main`."""
    p = argparse.ArgumentParser(
        prog='python -m mmowp.evaluate',
        description='Open-world evaluation (FCOS-OWP Table 1: base AP, base/novel AR@k) of a '
                    'COCO-format results file, under both protocols (OLN\'s and "removed").')
    p.add_argument('gt', help='COCO- or LVIS-format ground truth with the annotations of all '
                              'classes (base and novel)')
    p.add_argument('results', help='COCO-format results json (list of image_id, '
                                   'category_id, bbox [x, y, w, h], score)')
    p.add_argument('--known', required=True,
                   help="base (seen) classes: a split name ('voc', 'lvis_base', "
                        "'coco_person', ...) or comma-separated category names")
    p.add_argument('--novel', default=None,
                   help='novel (unseen) classes, same forms; default all other categories')
    p.add_argument('--k', type=int, nargs='+', default=[10, 100],
                   help='the k of AR@k (detections per image); the largest is also the '
                        'budget of base AP and AR by size (default: 10 100; LVIS: 300)')
    agn = p.add_mutually_exclusive_group()
    agn.add_argument('--class-agnostic', dest='class_agnostic', action='store_true',
                     default=None, help='ignore category_id (proposals): no base AP')
    agn.add_argument('--class-aware', dest='class_agnostic', action='store_false',
                     help='category_id must be a ground-truth category (default: '
                          'class-aware unless every result carries the same category_id)')
    p.add_argument('--out-dir', default=None,
                   help='where open_world_metrics.json and ar_vs_proposals.png go (default: '
                        'RESULTS without .json + "_open_world")')
    p.add_argument('--no-progress', action='store_true', help='no progress bar')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the evaluation; returns the exit status (1 on a bad input file)."""
    args = parse_args(argv)
    try:
        return _run(args)
    except (ValueError, FileNotFoundError, KeyError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f'error: {msg}', file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from .evaluation import OpenWorldCocoMetric
    out_dir = args.out_dir or osp.splitext(args.results)[0] + '_open_world'
    metric = OpenWorldCocoMetric(
        ann_file=args.gt, known_classes=_classes(args.known), novel_classes=_classes(args.novel),
        proposal_nums=args.k, plot_dir=out_dir, progress=False if args.no_progress else None)
    coco = metric._coco_api
    dt, agnostic = load_results(args.results, set(coco.get_img_ids()), set(metric.all_cat_ids),
                                args.class_agnostic, metric.known_ids)
    if agnostic:
        dt.category_id[:] = metric.all_cat_ids[0]
    metric.class_agnostic = agnostic
    missing = len(set(coco.get_img_ids()) - set(np.unique(dt.image_id).tolist()))
    if missing:
        warnings.warn(f'{missing} of {len(coco.get_img_ids())} images of {args.gt} have no '
                      f'entry in {args.results}; their objects count as missed')
    print(f'{args.results}: {len(dt)} detections on {len(np.unique(dt.image_id))} images, '
          f'{"class-agnostic (no base AP)" if agnostic else "class-aware"}; ground truth '
          f'{args.gt}: {len(coco.get_img_ids())} images, {len(coco.dataset["annotations"])} '
          'annotations')
    metrics, curves = metric.evaluate_detections(dt, agnostic)
    print(metric.summary_text(metrics))
    png = metric.save_outputs(metrics, curves, out_dir,
                              extra=dict(results_file=args.results, class_agnostic=agnostic))
    print(f'written: {osp.join(out_dir, "open_world_metrics.json")}, {png}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
