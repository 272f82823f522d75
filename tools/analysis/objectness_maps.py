"""Objectness heatmaps (per FPN level and merged) over images with their GT boxes.

One checkpoint, or two side by side (FCOS-OWP Figure 7: FCOS sampling vs All Sampling)::

    python tools/analysis/objectness_maps.py CONFIG CKPT [--config2 CONFIG2 --ckpt2 CKPT2]
        [--labels 'FCOS sampling' 'All sampling'] [--img-ids 3 7] [--num 4]
        [--split val] [--out-dir DIR] [--data-root DIR] [--novel-ann JSON]

Writes ``<out-dir>/objectness_<img_id>_merged.png`` and ``..._levels.png`` (default out-dir:
``<checkpoint dir>/analysis``). GT boxes: base classes green, novel classes magenta (as
``tools/test.py --show-dir``); the novel boxes come from ``--novel-ann``, by default the test
evaluator's ``ann_file`` (``--split test/val``) or the train json (``--split train``), read for
every class that is not a known class of the dataset.
"""
import argparse
import os
import os.path as osp

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)
import numpy as np

from mmowp.visualization import load_model_and_data, pick_indices, plot_objectness_maps
from mmowp.visualization.objectness_maps import novel_gt_boxes


def default_novel_ann(cfg, dataset, split: str):
    """The json with every class for ``split``: the test/val evaluator's ann_file, else the
    dataset's own json."""
    if split in ('test', 'val'):
        evaluators = cfg.get(f'{split}_evaluator') or []
        for ev in evaluators if isinstance(evaluators, (list, tuple)) else [evaluators]:
            if ev.get('ann_file'):
                return ev['ann_file']
    return getattr(dataset, 'ann_file', None)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--config2', help='second config (default: the first)')
    p.add_argument('--ckpt2', help='second checkpoint, drawn next to the first')
    p.add_argument('--labels', nargs='+', help='row labels (default: the config names)')
    p.add_argument('--img-ids', nargs='+', type=int, help='COCO image ids to draw')
    p.add_argument('--num', type=int, default=4, help='else the first NUM images')
    p.add_argument('--split', default='test', choices=['test', 'val', 'train'])
    p.add_argument('--vrange', nargs=2, type=float, metavar=('MIN', 'MAX'),
                   help='colour range (default: the range of each figure)')
    p.add_argument('--row-scale', action='store_true',
                   help='one colour scale per row (checkpoint / branch) instead')
    p.add_argument('--data-root')
    p.add_argument('--novel-ann', help='json annotating every class (default: see above); '
                   "'none' draws no novel GT")
    p.add_argument('--out-dir')
    a = p.parse_args()
    runs, dataset, cfg0 = [], None, None
    specs = [(a.config, a.checkpoint)]
    if a.ckpt2:
        specs.append((a.config2 or a.config, a.ckpt2))
    labels = a.labels or [osp.splitext(osp.basename(c))[0] for c, _ in specs]
    if len(labels) != len(specs):
        p.error(f'--labels needs {len(specs)} names')
    for label, (cfg, ckpt) in zip(labels, specs):
        model, ds, cfg_ = load_model_and_data(cfg, ckpt, a.split, a.data_root)
        dataset, cfg0 = dataset or ds, cfg0 or cfg_
        runs.append((label, model))
    ann = a.novel_ann or default_novel_ann(cfg0, dataset, a.split)
    novel = {} if not ann or ann == 'none' else \
        novel_gt_boxes(ann, dataset.metainfo['classes'])
    out_dir = a.out_dir or osp.join(osp.dirname(osp.abspath(a.checkpoint)), 'analysis')
    os.makedirs(out_dir, exist_ok=True)
    for idx in pick_indices(dataset, a.img_ids, a.num):
        img_id = dataset.get_data_info(idx)['img_id']
        boxes = None if ann == 'none' or not ann else novel.get(img_id, np.zeros((0, 4)))
        for f in plot_objectness_maps(runs, dataset, idx, osp.join(out_dir, f'objectness_{img_id}'),
                                      'row' if a.row_scale else a.vrange, boxes):
            print(f)


if __name__ == '__main__':
    main()
