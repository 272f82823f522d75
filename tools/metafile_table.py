"""Print the README's paper tables (markdown) from the metafiles.

One table per paper table or figure (``FCOS-OWP Table 1``, ``ATSS Table 4``, ...), in the
order the metafiles (listed by ``model-index.yml``) first name them: one line per paper row
with the config that reproduces it and the paper's numbers (``configs/*/metafile.yml``, the
only copy of them). A config that is a row of two tables (FCOS-OWP's joint and finetune rows
of Tables 1 and 3) appears in both, with all its numbers and a note; a figure's table lists
its cells and configs only.

Usage::

    python tools/metafile_table.py                # every table
    python tools/metafile_table.py --paper FCOS-OWP
"""
import argparse
from collections import OrderedDict
from typing import Dict, List, Optional

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

from mmowp.utils.metafile import load_models

#: Column order (metrics absent from every row of a table are not shown).
METRIC_ORDER = ('base AP', 'base AR10', 'base AR100', 'base AR300', 'novel AP', 'novel AR10',
                'novel AR100', 'novel AR300', 'box AP', 'box AP50', 'box AP75', 'box APs',
                'box APm', 'box APl', 'AUROC', 'AP', 'FPR95')


def _table_of(row: str) -> str:
    return row.split(':', 1)[0]


def _metrics(model: dict) -> Dict[str, float]:
    """Metric -> number, prefixed with the dataset where a row has several."""
    results = model.get('Results') or []
    out = OrderedDict()
    for res in results:
        prefix = f'{res["Dataset"]} ' if len(results) > 1 else ''
        for key, value in res['Metrics'].items():
            out[prefix + key] = value
    return out


def _order(columns: List[str]) -> List[str]:
    """Columns grouped by dataset (first-seen order), metrics in :data:`METRIC_ORDER`."""
    def split(col: str):
        for i, name in enumerate(METRIC_ORDER):
            if col == name or col.endswith(' ' + name):
                return col[:-len(name)], i
        return col, len(METRIC_ORDER)
    prefixes = list(OrderedDict.fromkeys(split(c)[0] for c in columns))
    return sorted(columns, key=lambda c: (prefixes.index(split(c)[0]), split(c)[1]))


def tables(paper: Optional[str] = None, root: Optional[str] = None) -> str:
    """The markdown tables.

    Args:
        paper (str, optional): Only this collection (``'FCOS-OWP'``, ``'ATSS'``, ``'RbA'``,
            ``'Policy-Gradient Detector'``).
        root (str, optional): Directory of ``model-index.yml`` (default: the checkout).

    Returns:
        str: One markdown table per paper table, each under a ``####`` heading.
    """
    groups: Dict[str, List[tuple]] = OrderedDict()
    titles = {}
    for model in load_models(root):
        coll = model['In Collection']
        if paper is not None and coll != paper:
            continue
        titles[coll] = model['Collection']['Paper']['Title']
        for row in (model.get('Metadata') or {}).get('Paper Rows') or []:
            groups.setdefault(f'{coll} {_table_of(row)}', []).append((row, model))
    out = []
    for name, rows in groups.items():
        coll = rows[0][1]['In Collection']
        columns = _order(list(OrderedDict.fromkeys(k for _, m in rows for k in _metrics(m))))
        if name.split()[-2] == 'Figure':  # a figure: its rows' numbers are other tables'
            columns = []
        out.append(f'#### {name} ({titles[coll]})\n')
        out.append('| row | config |' + ''.join(f' {c} |' for c in columns))
        out.append('|---|---|' + '---|' * len(columns))
        for row, model in rows:
            metrics = _metrics(model)
            cells = [f'{metrics[c]:.2f}' if coll in ('FCOS-OWP', 'RbA') and c in metrics
                     else (f'{metrics[c]:.1f}' if c in metrics else '-') for c in columns]
            label = row.split(':', 1)[1].strip()
            out.append(f'| {label} | `{model["Config"]}` |' + ''.join(f' {c} |' for c in cells))
        if not columns:
            out.append('\nThe paper plots these and prints no numbers.')
        also = [f'{row.split(":", 1)[1].strip()}: also ' + '; '.join(
            r for r in model['Metadata']['Paper Rows'] if _table_of(r) != _table_of(row))
            for row, model in rows if len(model['Metadata']['Paper Rows']) > 1]
        if also:
            out.append('\nRows of other tables too (numbers from all of them): '
                       + ', '.join(f'"{a}"' for a in also) + '.')
        out.append('')
    return '\n'.join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--paper', help='only this collection (e.g. FCOS-OWP, ATSS)')
    parser.add_argument('--root', help='directory of model-index.yml (default: the checkout)')
    args = parser.parse_args()
    print(tables(args.paper, args.root))


if __name__ == '__main__':
    main()
