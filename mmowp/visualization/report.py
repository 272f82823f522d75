"""One page (markdown and self-contained HTML) per run: the Table-1 row, every metric, the
AR-vs-#proposals curve, the training losses and the analysis pictures found in the run.

What is collected from a work dir (all optional except the metrics json):

* ``**/open_world_metrics.json`` (newest) and the ``ar_vs_proposals.png`` next to it —
  written by :class:`~mmowp.evaluation.OpenWorldCocoMetric`;
* ``**/vis_data/scalars.json`` of the training run(s): losses and lr are plotted to
  ``loss.png``;
* PNGs under ``analysis/`` (``tools/analysis/objectness_maps.py``, ``score_hist.py``,
  ``ar_curve.py``) and up to ``max_show`` painted images of ``tools/test.py --show-dir``.
"""
import base64
import glob
import html
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from .ar_curve import find_metrics_json

#: Columns of FCOS-OWP Table 1 (COCO) and Table 2 (LVIS), in that order when present.
ROW_KEYS = ('base_AP', 'base_AR@10', 'base_AR@100', 'base_AR@300', 'novel_AR@10',
            'novel_AR@100', 'novel_AR@300')


def _fmt(v: float) -> str:
    return 'N/A' if v is None or v < 0 else f'{100 * v:.2f}'


def plot_losses(work_dir: str, out_file: str) -> Optional[str]:
    """Plot every ``loss*`` scalar and the lr of the run's training logs (resumed runs
    concatenated by iteration); None when there is no training log."""
    rows: Dict[int, dict] = {}
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            for line in f:
                row = json.loads(line)
                if 'loss' in row and 'iter' in row:
                    rows[row['iter']] = row
    if not rows:
        return None
    from matplotlib.figure import Figure  # no pyplot: no backend, no global state
    its = sorted(rows)
    keys = sorted({k for r in rows.values() for k in r if k.startswith('loss')})
    fig = Figure(figsize=(10, 3.4))
    ax, ax_lr = fig.subplots(1, 2)
    for k in keys:
        ax.plot(its, [rows[i].get(k, float('nan')) for i in its], label=k)
    ax.set_xlabel('iteration')
    ax.set_ylabel('loss (log-window mean)')
    ax.legend(fontsize=7)
    ax.grid(True, alpha=0.3)
    ax_lr.plot(its, [rows[i].get('lr', float('nan')) for i in its])
    ax_lr.set_xlabel('iteration')
    ax_lr.set_ylabel('learning rate')
    ax_lr.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(out_file, dpi=100)
    return out_file


def collect(work_dir: str, max_show: int = 4,
            fig_dir: Optional[str] = None) -> Tuple[dict, List[Tuple[str, str]]]:
    """The metrics json and ``(caption, png path)`` pairs of a run; the loss plot is written
    to ``fig_dir`` (default ``work_dir``)."""
    metrics_path = find_metrics_json(work_dir)
    with open(metrics_path) as f:
        data = json.load(f)
    data['_path'] = metrics_path
    figures: List[Tuple[str, str]] = []
    curve = osp.join(osp.dirname(metrics_path), 'ar_vs_proposals.png')
    if osp.isfile(curve):
        figures.append(('AR vs number of proposals (novel and base)', curve))
    loss = plot_losses(work_dir, osp.join(fig_dir or work_dir, 'loss.png'))
    if loss:
        figures.append(('Training losses and learning rate', loss))
    captions = {'score_hist': 'Objectness targets, predictions and proposal scores',
                'ar_curves': 'AR vs number of proposals, compared runs',
                'objectness_': 'Objectness maps'}
    for png in sorted(glob.glob(osp.join(work_dir, '**', 'analysis', '*.png'), recursive=True)):
        name = osp.basename(png)
        cap = next((c for k, c in captions.items() if name.startswith(k)), name)
        figures.append((f'{cap} ({name})', png))
    shown = [p for p in sorted(glob.glob(osp.join(work_dir, '**', '*.png'), recursive=True))
             if p not in {f for _, f in figures} and 'analysis' not in p.split(os.sep)
             and osp.basename(p) not in ('ar_vs_proposals.png', 'loss.png', 'report.png')]
    for png in shown[:max_show]:
        figures.append(('Detections: GT (green base, magenta novel) | proposals (green on '
                        'base, magenta on novel, orange other)', png))
    return data, figures


def write_report(work_dir: str, out_md: Optional[str] = None, html_file: bool = True,
                 title: Optional[str] = None, max_show: int = 4) -> List[str]:
    """Write the markdown report (images linked relatively) and, next to it, the HTML one
    (same name, ``.html``, images embedded).

    Args:
        work_dir (str): The run's work dir (metrics json, logs, pictures).
        out_md (str, optional): The markdown file (its folder is created; the loss plot is
            written next to it). Defaults to ``<work_dir>/report.md``.
        html_file (bool): Also write the HTML page. Defaults to True.
        title (str, optional): Defaults to the work dir's name.
        max_show (int): Painted detection images to include. Defaults to 4.

    Returns:
        list[str]: The written report files.
    """
    out_md = out_md or osp.join(work_dir, 'report.md')
    if not out_md.endswith('.md'):
        raise ValueError(f'the report must be a .md file (the .html is written next to it), '
                         f'got {out_md!r}')
    out_dir = osp.dirname(osp.abspath(out_md))
    os.makedirs(out_dir, exist_ok=True)
    data, figures = collect(work_dir, max_show, fig_dir=out_dir)
    metrics = data.get('metrics', {})
    title = title or osp.basename(osp.abspath(work_dir))
    row_keys = [k for k in ROW_KEYS if k in metrics]
    md = [f'# {title}', '',
          f'Metrics: `{data["_path"]}` (annotations `{data.get("ann_file")}`, '
          f'{len(data.get("known_classes", []))} base / {len(data.get("novel_classes", []))} '
          f'novel classes, known classes excluded from the budget: '
          f'{data.get("exclude_known_from_budget")}).', '',
          '## Table 1 row (percent)', '',
          '| ' + ' | '.join(k.replace('_', ' ') for k in row_keys) + ' |',
          '|' + '---|' * len(row_keys),
          '| ' + ' | '.join(_fmt(metrics[k]) for k in row_keys) + ' |', '',
          '## All metrics', '', '| metric | value (%) |', '|---|---|']
    md += [f'| {k} | {_fmt(v)} |' for k, v in metrics.items()]
    md.append('')
    base = osp.dirname(osp.abspath(out_md))
    for cap, png in figures:
        md += [f'## {cap}' if not cap.startswith('Detections') else f'### {cap}', '',
               f'![{cap}]({osp.relpath(png, base)})', '']
    with open(out_md, 'w') as f:
        f.write('\n'.join(md))
    written = [out_md]
    if html_file:
        out_html = osp.splitext(out_md)[0] + '.html'
        parts = [f'<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                 '<style>body{font-family:sans-serif;max-width:1100px;margin:auto}'
                 'td,th{border:1px solid #ccc;padding:2px 8px}table{border-collapse:collapse}'
                 'img{max-width:100%}</style></head><body>',
                 f'<h1>{html.escape(title)}</h1><p>{html.escape(data["_path"])}</p>',
                 '<h2>Table 1 row (percent)</h2><table><tr>'
                 + ''.join(f'<th>{html.escape(k)}</th>' for k in row_keys) + '</tr><tr>'
                 + ''.join(f'<td>{_fmt(metrics[k])}</td>' for k in row_keys)
                 + '</tr></table><h2>All metrics</h2><table>'
                 + ''.join(f'<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td></tr>'
                           for k, v in metrics.items()) + '</table>']
        for cap, png in figures:
            with open(png, 'rb') as f:
                b64 = base64.b64encode(f.read()).decode()
            parts.append(f'<h3>{html.escape(cap)}</h3><img src="data:image/png;base64,{b64}">')
        parts.append('</body></html>')
        with open(out_html, 'w') as f:
            f.write('\n'.join(parts))
        written.append(out_html)
    return written
