"""One markdown + one self-contained HTML page for a run (metrics, AR curve, losses, pictures).

    python tools/analysis/report.py WORK_DIR [--out report.md] [--title NAME] [--max-show 4]
        [--no-html]

Writes ``--out`` (default ``WORK_DIR/report.md``) and the HTML page next to it (same name,
``.html``); the training-loss plot ``loss.png`` goes into the same folder.

Run the other tools first so that their PNGs are included: ``tools/test.py ... --show-dir
vis`` (painted detections) and ``tools/analysis/{objectness_maps,score_hist,ar_curve}.py
--out-dir WORK_DIR/analysis``.
"""
import argparse
import os.path as osp

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

from mmowp.visualization.report import write_report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dir')
    p.add_argument('--out', help='markdown file to write (default: WORK_DIR/report.md)')
    p.add_argument('--title')
    p.add_argument('--max-show', type=int, default=4, help='painted detection images')
    p.add_argument('--no-html', action='store_true')
    a = p.parse_args()
    if not osp.isdir(a.work_dir):
        p.error(f'{a.work_dir} is not a directory (the work dir of a run)')
    for path in write_report(a.work_dir, out_md=a.out, title=a.title, html_file=not a.no_html,
                             max_show=a.max_show):
        print(path)


if __name__ == '__main__':
    main()
