"""Histograms of objectness targets, predicted objectness and proposal scores (seed 000 §5.1).

    python tools/analysis/score_hist.py CONFIG CKPT [--split train] [--num 32]
        [--out-dir DIR] [--data-root DIR]

Writes ``<out-dir>/score_hist.png`` (default out-dir: ``<checkpoint dir>/analysis``).
Targets are computed on the ``--split`` images with their (base-class) GT, without
augmentation; default ``train``, the images the objectness is trained on.
"""
import argparse
import os
import os.path as osp

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

from mmowp.visualization import load_model_and_data, pick_indices
from mmowp.visualization.score_hist import (
    collect_objectness,
    plot_score_hist,
    proposal_scores,
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    p.add_argument('--num', type=int, default=32, help='number of images')
    p.add_argument('--data-root')
    p.add_argument('--out-dir')
    a = p.parse_args()
    model, dataset, _ = load_model_and_data(a.config, a.checkpoint, a.split, a.data_root)
    idx = pick_indices(dataset, None, a.num)
    values = collect_objectness(model, dataset, idx)
    scores = proposal_scores(model, dataset, idx)
    out_dir = a.out_dir or osp.join(osp.dirname(osp.abspath(a.checkpoint)), 'analysis')
    os.makedirs(out_dir, exist_ok=True)
    title = (f'{osp.basename(a.config)} @ {osp.basename(a.checkpoint)}, {len(idx)} '
             f'{a.split} images')
    print(plot_score_hist(values, scores, osp.join(out_dir, 'score_hist.png'), title))


if __name__ == '__main__':
    main()
