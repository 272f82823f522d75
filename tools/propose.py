"""Proposals of a trained mmowp model on your own images, as COCO-format json and pictures.

    python tools/propose.py CONFIG CHECKPOINT INPUT [--out proposals.json]
        [--show-dir DIR] [--topk 100]

INPUT is an image, a folder (searched recursively for images) or a COCO json (its
``images``; files under ``--img-dir``, by default the json's folder or its parent). The
output is a COCO-format json: ``images`` (ids of the input json, else 1..N in sorted
order), ``categories`` (``object`` for a class-agnostic model; the known classes plus
``unknown`` for a model with an RbA ``unknown_score_mode``) and ``annotations``, the top
``--topk`` boxes per image, each with its ``score``. With a COCO json as INPUT,
``annotations`` is a results list for that json (``COCO.loadRes``), class-agnostic
proposals with ``category_id=1`` as ``OpenWorldCocoMetric`` writes them. ``--show-dir``
draws each image with its top boxes above ``--show-thr``.

Files that cannot be read or decoded (and, in a folder, files that are not images) are
named and skipped, and counted at the end; the json says which.

The model runs through mmdet's ``DetInferencer``; a checkpoint that does not fit the
config (another head type, another number of classes) is refused.
"""
import argparse
import json
import logging
import os
import os.path as osp
import sys
import warnings
from typing import Dict, List, Optional, Tuple

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)
import mmcv
import numpy as np
from mmengine.config import DictAction
from mmengine.fileio import get
from mmengine.logging import MMLogger
from mmengine.utils import ProgressBar

import mmowp  # noqa: F401  (registers mmowp, patches DetInferencer for mmowp models)
from mmowp.utils.config import load_config

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Proposals of an mmowp model on an image, a folder or a COCO json')
    parser.add_argument('config', help='config file (of the checkpoint)')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('input', help='an image, a folder of images or a COCO json')
    parser.add_argument('--out', default='proposals.json',
                        help='COCO-format output json (default: proposals.json)')
    parser.add_argument('--show-dir', help='draw the proposals of each image into this folder')
    parser.add_argument('--topk', type=int, default=100, help='proposals kept per image')
    parser.add_argument('--show-thr', type=float, default=0.3,
                        help='score threshold of the drawn boxes (default 0.3)')
    parser.add_argument('--img-dir', help='folder of the file_names of a COCO json INPUT '
                        "(default: the json's folder, else its parent)")
    parser.add_argument('--device', default='cpu', help='e.g. cpu, cuda:0')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (as tools/test.py)')
    args = parser.parse_args(argv)
    if args.topk < 1:
        parser.error(f'--topk must be >= 1, got {args.topk}')
    return args


# ------------------------------------------------------------------------ inputs
def _coco_inputs(path: str, img_dir: Optional[str]) -> Tuple[List[dict], List[dict], str]:
    """(images, categories, image folder) of a COCO json INPUT."""
    try:
        with open(path) as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise ValueError(f'{path}: not a valid json file ({e})') from e
    images = data.get('images') if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise ValueError(f'{path}: a COCO json needs an "images" list')
    for i, img in enumerate(images):
        if not isinstance(img, dict) or 'id' not in img or 'file_name' not in img:
            raise ValueError(f'{path}: images[{i}] needs "id" and "file_name", got {img!r}')
    if img_dir is None:
        here = osp.dirname(osp.abspath(path))
        cands = [here, osp.dirname(here)]
        probe = images[0]['file_name'] if images else ''
        img_dir = next((d for d in cands if osp.isfile(osp.join(d, probe))), here)
    elif not osp.isdir(img_dir):
        raise FileNotFoundError(f'--img-dir {img_dir!r} is not a folder')
    return images, list(data.get('categories') or []), img_dir


def collect_inputs(source: str, img_dir: Optional[str] = None
                   ) -> Tuple[List[dict], List[Tuple[str, str]], List[dict]]:
    """The images to run on.

    Args:
        source (str): An image file, a folder or a COCO json.
        img_dir (str, optional): Folder of the ``file_name`` of a COCO json.

    Returns:
        tuple: ``images`` (dicts with ``id``, ``file_name``, ``path``), ``skipped``
        (path, reason) of the files of a folder that are not images, and the json's
        ``categories`` (empty for files and folders).
    """
    if not osp.exists(source):
        raise FileNotFoundError(f'INPUT {source!r} does not exist')
    if osp.isfile(source) and source.lower().endswith('.json'):
        images, categories, root = _coco_inputs(source, img_dir)
        return [dict(id=img['id'], file_name=img['file_name'],
                     path=osp.join(root, img['file_name'])) for img in images], [], categories
    if osp.isfile(source):
        return [dict(id=1, file_name=osp.basename(source), path=source)], [], []
    files = sorted(osp.relpath(osp.join(d, n), source)
                   for d, _, names in os.walk(source) for n in names)
    images = [f for f in files if f.lower().endswith(IMG_EXTENSIONS)]
    skipped = [(osp.join(source, f), 'not an image file') for f in files if f not in images]
    return ([dict(id=i + 1, file_name=f, path=osp.join(source, f))
             for i, f in enumerate(images)], skipped, [])


def read_image(path: str) -> Tuple[Optional[np.ndarray], Optional[str]]:
    """(BGR image, None) or (None, why it cannot be used)."""
    try:
        data = get(path)
    except (OSError, ValueError) as e:
        return None, f'cannot be read ({type(e).__name__}: {e})'
    if not data:
        return None, 'is empty (0 bytes)'
    try:
        img = mmcv.imfrombytes(data)
    except Exception as e:  # noqa: BLE001  (any decoder failure is the answer)
        return None, f'cannot be decoded ({type(e).__name__}: {e})'
    if img is None or img.size == 0:
        return None, 'cannot be decoded as an image'
    return img, None


# ----------------------------------------------------------------------- outputs
def output_categories(classes: Tuple[str, ...], json_categories: List[dict]
                      ) -> Tuple[List[dict], Dict[int, int]]:
    """COCO categories of the predicted labels and the label -> category id map.

    Class-agnostic proposals (``('object',)``) get id 1. Other labels take the id of the
    INPUT json's category of the same name when there is one, else the next free id.
    """
    if tuple(classes) == ('object', ):
        return [dict(id=1, name='object')], {0: 1}
    by_name = {c.get('name'): c.get('id') for c in json_categories}
    used = {i for i in by_name.values() if isinstance(i, int)}
    next_id = max(used, default=0) + 1
    cats, label2id = [], {}
    for label, name in enumerate(classes):
        cid = by_name.get(name)
        if not isinstance(cid, int):
            cid, next_id = next_id, next_id + 1
        label2id[label] = cid
        cats.append(dict(id=cid, name=name))
    return cats, label2id


def to_annotations(pred: object, image_id: object, label2id: Dict[int, int], topk: int,
                   first_id: int) -> List[dict]:
    """The top-``topk`` boxes of a ``DetDataSample`` as COCO annotations with scores."""
    inst = pred.pred_instances
    scores = inst.scores.detach().cpu().numpy().reshape(-1)
    boxes = inst.bboxes.detach().cpu().numpy().reshape(-1, 4).astype(np.float64)
    labels = inst.labels.detach().cpu().numpy().reshape(-1)
    order = np.argsort(-scores, kind='stable')[:topk]
    anns = []
    for n, i in enumerate(order):
        x1, y1, x2, y2 = boxes[i].tolist()
        w, h = x2 - x1, y2 - y1
        anns.append(dict(id=first_id + n, image_id=image_id,
                         category_id=label2id.get(int(labels[i]), int(labels[i]) + 1),
                         bbox=[round(x1, 2), round(y1, 2), round(w, 2), round(h, 2)],
                         area=round(w * h, 2), score=round(float(scores[i]), 5), iscrowd=0))
    return anns


class _DropRegistryFallback(logging.Filter):
    """mmdet's ``DetInferencer`` looks its collate function up in scope ``mmdet``, which
    the ``function`` registry does not have; MMEngine warns and uses its own (correct)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return 'in the "function" registry tree' not in record.getMessage()


def build_inferencer(config: str, checkpoint: str, device: str = 'cpu', topk: int = 100,
                     cfg_options: Optional[dict] = None) -> object:
    """mmdet's ``DetInferencer`` for an mmowp config (``mmowp::`` bases, ``--cfg-options``
    and inherited variables handled as by ``tools/test.py``), keeping ``topk`` boxes."""
    from mmdet.apis import DetInferencer
    if not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint!r} does not exist')
    cfg = load_config(config, cfg_options, phases=())
    cfg.model.test_cfg.max_per_img = topk
    vis = cfg.get('visualizer')
    if isinstance(vis, dict):
        vis.pop('vis_backends', None)  # images are written here, not by a vis backend
    logger = MMLogger.get_current_instance()
    quiet = _DropRegistryFallback()
    logger.addFilter(quiet)
    try:
        inferencer = DetInferencer(model=cfg, weights=checkpoint, device=device)
    finally:
        logger.removeFilter(quiet)
    inferencer.show_progress = False
    return inferencer


def main(argv: Optional[List[str]] = None) -> dict:
    args = parse_args(argv)
    warnings.filterwarnings('ignore', message='torch.meshgrid: in an upcoming release')
    images, skipped, json_cats = collect_inputs(args.input, args.img_dir)
    inferencer = build_inferencer(args.config, args.checkpoint, args.device, args.topk,
                                  args.cfg_options)
    classes = tuple(inferencer.model.dataset_meta['classes'])
    categories, label2id = output_categories(classes, json_cats)
    out_images, annotations = [], []
    bar = ProgressBar(len(images), file=sys.stdout) if len(images) > 1 else None
    for img_info in images:
        img, problem = read_image(img_info['path'])
        if img is None:
            skipped.append((img_info['path'], problem))
        else:
            pred = inferencer(img, return_datasamples=True)['predictions'][0]
            annotations += to_annotations(pred, img_info['id'], label2id, args.topk,
                                          len(annotations) + 1)
            out_images.append(dict(id=img_info['id'], file_name=img_info['file_name'],
                                   height=int(img.shape[0]), width=int(img.shape[1])))
            if args.show_dir:
                inferencer.visualizer.add_datasample(
                    img_info['file_name'], img[..., ::-1], pred, draw_gt=False,
                    pred_score_thr=args.show_thr,
                    out_file=osp.join(args.show_dir, img_info['file_name']))
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write('\n')
    result = dict(images=out_images, categories=categories, annotations=annotations,
                  info=dict(config=args.config, checkpoint=args.checkpoint, topk=args.topk,
                            skipped=[dict(file=p, reason=r) for p, r in skipped]))
    out_dir = osp.dirname(args.out)
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    with open(args.out, 'w') as f:
        json.dump(result, f)
    print(f'{len(annotations)} proposals on {len(out_images)} images '
          f'({", ".join(c["name"] for c in categories)}) -> {args.out}'
          + (f'; drawn into {args.show_dir}' if args.show_dir else ''))
    if skipped:
        print(f'skipped {len(skipped)} file(s):')
        for path, reason in skipped:
            print(f'  {path}: {reason}')
    return result


if __name__ == '__main__':
    main()
