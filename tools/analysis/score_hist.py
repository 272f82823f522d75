"""Histograms of objectness targets, predicted objectness and proposal scores (FCOS-OWP §5.1).

    python tools/analysis/score_hist.py CONFIG CKPT [--split train] [--num 32]
        [--out-dir DIR | --out FILE.png] [--data-root DIR]

Writes ``<out-dir>/score_hist_<config name>_<checkpoint name>.png``, named after the run so
that the pictures of several runs can share one folder (default out-dir: ``<checkpoint
dir>/analysis``); ``--out`` names the file itself.
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


def hist_file_name(config: str, checkpoint: str) -> str:
    """``score_hist_<config name>_<checkpoint name>.png``: the run, not a fixed name."""
    stem = lambda p: osp.splitext(osp.basename(p))[0]  # noqa: E731
    return f'score_hist_{stem(config)}_{stem(checkpoint)}.png'


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--split', default='train', choices=['train', 'val', 'test'])
    p.add_argument('--num', type=int, default=32, help='number of images')
    p.add_argument('--data-root')
    p.add_argument('--out-dir')
    p.add_argument('--out', help='the PNG to write (instead of a name in --out-dir)')
    a = p.parse_args()
    if a.out and a.out_dir:
        p.error('give --out or --out-dir, not both')
    if a.out and not a.out.endswith('.png'):
        p.error(f'--out must be a .png file, got {a.out!r}')
    model, dataset, _ = load_model_and_data(a.config, a.checkpoint, a.split, a.data_root)
    idx = pick_indices(dataset, None, a.num)
    values = collect_objectness(model, dataset, idx)
    scores = proposal_scores(model, dataset, idx)
    out_dir = a.out_dir or osp.join(osp.dirname(osp.abspath(a.checkpoint)), 'analysis')
    out = a.out or osp.join(out_dir, hist_file_name(a.config, a.checkpoint))
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    title = (f'{osp.basename(a.config)} @ {osp.basename(a.checkpoint)}, {len(idx)} '
             f'{a.split} images')
    print(plot_score_hist(values, scores, out, title))


if __name__ == '__main__':
    main()
