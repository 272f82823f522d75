"""AR vs number of proposals of several runs in one figure (novel and base classes).

    python tools/analysis/ar_curve.py RUN [RUN ...] [--labels A B ...] [--out ar_curves.png]

RUN: an ``open_world_metrics.json`` (written by OpenWorldCocoMetric next to the run's
logs), or a work dir (its newest such file is used).
"""
import argparse

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

from mmowp.visualization.ar_curve import default_labels, plot_ar_curves


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('runs', nargs='+')
    p.add_argument('--labels', nargs='+')
    p.add_argument('--marks', nargs='+', type=int, help='k values to mark (default AR@k keys)')
    p.add_argument('--out', default='ar_curves.png')
    a = p.parse_args()
    labels = a.labels or default_labels(a.runs)
    if len(labels) != len(a.runs):
        p.error(f'--labels needs {len(a.runs)} names')
    print(plot_ar_curves(list(zip(labels, a.runs)), a.out, a.marks))


if __name__ == '__main__':
    main()
