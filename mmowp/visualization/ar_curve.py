"""AR vs number of proposals: of one evaluation, and of several runs in one figure.

:func:`plot_protocol_curves` draws the curves of one evaluation (the
``ar_vs_proposals.png`` that :class:`~mmowp.evaluation.OpenWorldCocoMetric` writes, in the
directory :func:`run_output_dir` finds); :func:`plot_ar_curves` compares runs from the
``open_world_metrics.json`` files the metric writes next to a run's metrics (``metrics``,
``ar_vs_proposals = {'k', 'novel', 'base'}``, fractions; ``base`` is null when the file has
no base-class GT).
"""
import glob
import json
import logging
import os
import os.path as osp
from typing import List, Optional, Sequence, Tuple

from mmengine.logging import MMLogger

from ..utils.optional import import_optional


def run_output_dir(out_dir: Optional[str] = None,
                   outfile_prefix: Optional[str] = None) -> Optional[str]:
    """Where an evaluation writes its json and plot.

    Args:
        out_dir (str, optional): Asked for explicitly (the metric's ``plot_dir``); wins.
        outfile_prefix (str, optional): The metric's ``outfile_prefix``; its directory is
            the last resort.

    Returns:
        str | None: ``out_dir``, else the directory of the current ``MMLogger``'s log file
        (a runner's log dir, next to its metrics json), else the directory of
        ``outfile_prefix``; None when there is none of them.
    """
    if out_dir:
        return out_dir
    for handler in MMLogger.get_current_instance().handlers:
        if isinstance(handler, logging.FileHandler):
            return osp.dirname(handler.baseFilename)
    if outfile_prefix:
        return osp.dirname(outfile_prefix) or '.'
    return None


def plot_protocol_curves(curves: dict, protocols: Sequence[str], out_file: str) -> str:
    """AR@k vs k of one evaluation: novel and base, a solid line for the first protocol,
    dotted for the others.

    Args:
        curves (dict): As :meth:`OpenWorldCocoMetric.evaluate_detections` returns them:
            ``k``, ``novel``, ``base`` (fractions; ``base`` may be None) for
            ``protocols[0]``, ``novel_<p>`` / ``base_<p>`` for each other protocol ``p``.
        protocols (Sequence[str]): The protocols, the configured one first.
        out_file (str): PNG path.

    Returns:
        str: ``out_file``.
    """
    figure = import_optional('matplotlib.figure', 'The AR-vs-#proposals plot')
    fig = figure.Figure(figsize=(5, 3.5))  # no pyplot: no backend, no global state
    ax = fig.subplots()
    for i, protocol in enumerate(protocols):
        sfx = f'_{protocol}' if i else ''
        for key, color in (('novel', 'C0'), ('base', 'C1')):
            if curves.get(key + sfx) is not None:
                ax.plot(curves['k'], [100 * v for v in curves[key + sfx]],
                        '-' if i == 0 else ':', color=color, label=f'{key} AR ({protocol})')
    ax.set_xscale('log')
    ax.set_xlabel('number of proposals per image (k)')
    ax.set_ylabel('AR@k (%), IoU 0.50:0.95')
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    return out_file


def find_metrics_json(path: str) -> str:
    """``path`` itself if it is a file, else the newest ``open_world_metrics.json`` under it."""
    if osp.isfile(path):
        return path
    found = glob.glob(osp.join(path, '**', 'open_world_metrics.json'), recursive=True)
    if not found:
        raise FileNotFoundError(f'no open_world_metrics.json under {path} (run tools/test.py '
                                'with an OpenWorldCocoMetric evaluator first)')
    return max(found, key=os.path.getmtime)


def load_curve(path: str) -> dict:
    """The metrics json of a run, checked for the keys the plot needs."""
    with open(path) as f:
        data = json.load(f)
    curve = data.get('ar_vs_proposals')
    if not isinstance(curve, dict) or 'k' not in curve or 'novel' not in curve:
        raise ValueError(f'{path}: no "ar_vs_proposals" with "k" and "novel" (not written by '
                         'OpenWorldCocoMetric?)')
    if len(curve['k']) != len(curve['novel']):
        raise ValueError(f'{path}: "k" and "novel" have different lengths')
    return data


def plot_ar_curves(runs: Sequence[Tuple[str, str]], out_file: str,
                   marks: Optional[Sequence[int]] = None) -> str:
    """Plot AR@k vs k for each ``(label, metrics_json)``: novel left, base right.

    Args:
        runs: ``(label, path)`` pairs; ``path`` a metrics json or a run directory.
        out_file (str): PNG path.
        marks (Sequence[int], optional): k values to mark with dots and a value (default
            the ``proposal_nums`` found as ``novel_AR@k`` keys).

    Returns:
        str: ``out_file``.
    """
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state
    fig = Figure(figsize=(10, 3.8))
    axes = fig.subplots(1, 2, sharey=False)
    for label, path in runs:
        data = load_curve(find_metrics_json(path))
        curve, metrics = data['ar_vs_proposals'], data.get('metrics', {})
        ks = marks or sorted(int(k.split('@')[1]) for k in metrics
                             if k.startswith('novel_AR@'))
        for ax, split in zip(axes, ('novel', 'base')):
            ys = curve.get(split)
            if ys is None:
                continue
            line, = ax.plot(curve['k'], [100 * v for v in ys], label=label)
            for k in ks:
                if k in curve['k']:
                    v = 100 * ys[curve['k'].index(k)]
                    ax.plot([k], [v], 'o', color=line.get_color(), ms=4)
                    ax.annotate(f'{v:.1f}', (k, v), textcoords='offset points',
                                xytext=(3, 3), fontsize=7, color=line.get_color())
    for ax, split in zip(axes, ('novel', 'base')):
        ax.set_xscale('log')
        ax.set_xlabel('proposals per image (k)')
        ax.set_ylabel(f'{split} AR@k (%), IoU 0.50:0.95')
        ax.set_title(f'{split} classes (class-agnostic recall)', fontsize=9)
        ax.grid(True, which='both', alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_file, dpi=110)
    return out_file


def default_labels(paths: Sequence[str]) -> List[str]:
    """A label per run: the run directory name (the json's grand-parent when the json
    sits in a timestamp directory)."""
    labels = []
    for p in paths:
        d = osp.dirname(osp.abspath(p)) if osp.isfile(p) else osp.abspath(p)
        name = osp.basename(d)
        if name[:8].isdigit():  # <work_dir>/<timestamp>/open_world_metrics.json
            name = osp.basename(osp.dirname(d))
        labels.append(name)
    return labels
