"""One markdown + one self-contained HTML page for a run (metrics, AR curve, losses, pictures).

    python tools/analysis/report.py WORK_DIR [--title NAME] [--max-show 4] [--no-html]

Run the other tools first so that their PNGs are included: ``tools/test.py ... --show-dir
vis`` (painted detections) and ``tools/analysis/{objectness_maps,score_hist,ar_curve}.py
--out-dir WORK_DIR/analysis``.
"""
import argparse

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

from mmowp.visualization.report import write_report


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dir')
    p.add_argument('--title')
    p.add_argument('--max-show', type=int, default=4, help='painted detection images')
    p.add_argument('--no-html', action='store_true')
    a = p.parse_args()
    for path in write_report(a.work_dir, title=a.title, html_file=not a.no_html,
                             max_show=a.max_show):
        print(path)


if __name__ == '__main__':
    main()
