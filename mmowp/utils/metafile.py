"""The paper numbers of the configs, read from the metafiles (one place for them).

Every config folder holds a ``metafile.yml`` in OpenMMLab's model-index format (as mmdet's
``configs/*/metafile.yml``), listed by ``model-index.yml`` at the repository root (installed as
``mmowp/.mim/model-index.yml``). A model entry names its config and, for a config that
reproduces a row of a paper table (or a figure cell), ``Metadata['Paper Rows']`` (e.g.
``'Table 1: OWP IOU-CS-IS'``, in the paper of its ``In Collection``) and ``Results``: the
paper's numbers of that row on the paper's own benchmark. The README table
(``tools/metafile_table.py``), the toy bed (``tools/reproduce_toy.py``) and
``tests/test_config_fidelity.py`` read them from here; nothing else keeps a copy.

Example::

    >>> from mmowp.utils.metafile import paper_numbers
    >>> paper_numbers('FCOS-OWP Table 1: OWP IOU-CS-IS')['novel AR100']
    30.19
    >>> paper_numbers('configs/owp/<config>.py')   # the same numbers, by config
"""
import os.path as osp
from typing import Dict, List, Optional

from mmengine.fileio import load

INDEX = 'model-index.yml'


def index_root(root: Optional[str] = None) -> str:
    """Directory holding ``model-index.yml`` and the ``configs/`` it lists.

    Args:
        root (str, optional): Use this directory. Defaults to the checkout the package is
            imported from (``<repo>/model-index.yml`` next to ``<repo>/configs``), else the
            installed copy (``mmowp/.mim``).

    Returns:
        str: The directory.
    """
    if root is not None:
        if not osp.isfile(osp.join(root, INDEX)):
            raise FileNotFoundError(f'{osp.join(root, INDEX)} does not exist')
        return root
    pkg = osp.dirname(osp.dirname(osp.abspath(__file__)))
    for cand in (osp.dirname(pkg), osp.join(pkg, '.mim')):
        if osp.isfile(osp.join(cand, INDEX)) and osp.isdir(osp.join(cand, 'configs')):
            return cand
    raise FileNotFoundError(
        f'no {INDEX} next to configs/ in {osp.dirname(pkg)} or {osp.join(pkg, ".mim")}: '
        'run from a checkout or install mmowp (pip install .)')


def load_models(root: Optional[str] = None) -> List[dict]:
    """All model entries of the metafiles listed by ``model-index.yml``, in index order.

    Args:
        root (str, optional): See :func:`index_root`.

    Returns:
        list[dict]: The metafile's model dicts, each with two more keys: ``'Collection'``
        (the dict of its ``In Collection``, with ``Paper`` and ``Metadata``) and
        ``'Metafile'`` (the metafile's path relative to ``root``).
    """
    root = index_root(root)
    index = load(osp.join(root, INDEX))
    models = []
    for rel in index.get('Import') or []:
        meta = load(osp.join(root, rel))
        collections = {c['Name']: c for c in meta.get('Collections') or []}
        for model in meta.get('Models') or []:
            coll = model.get('In Collection')
            if coll not in collections:
                raise KeyError(f'{rel}: model {model.get("Name")!r} is in collection {coll!r}, '
                               f'which the file does not define ({sorted(collections)})')
            models.append(dict(model, Collection=collections[coll], Metafile=rel))
    return models


def paper_rows(model: dict) -> List[str]:
    """The paper rows of a model entry, each prefixed with its collection's name.

    Args:
        model (dict): An entry of :func:`load_models`.

    Returns:
        list[str]: E.g. ``['FCOS-OWP Table 1: OWP-Aware logits * IOU-CS-IS (joint)',
        'FCOS-OWP Table 3: joint']``; empty for a config that reproduces no row.
    """
    rows = (model.get('Metadata') or {}).get('Paper Rows') or []
    return [f'{model["In Collection"]} {row}' for row in rows]


def _norm(text: str) -> str:
    return ' '.join(text.lower().split())


def find_model(row_or_config: str, root: Optional[str] = None) -> dict:
    """The model entry of a config or of a paper row.

    Args:
        row_or_config (str): A config (path, file name or name without ``.py``; the
            metafile's ``Name`` is the config's file name without ``.py``), or a paper row
            as :func:`paper_rows` writes it (``'FCOS-OWP Table 1: OWP IOU-CS-IS'``; case
            and repeated spaces do not matter; without the collection's name when only one
            paper has such a row).
        root (str, optional): See :func:`index_root`.

    Returns:
        dict: The entry (see :func:`load_models`).
    """
    models = load_models(root)
    name = osp.basename(row_or_config)
    name = name[:-3] if name.endswith('.py') else name
    key = _norm(row_or_config)
    hits = [m for m in models if m['Name'] == name]
    if not hits:
        hits = [m for m in models if key in map(_norm, paper_rows(m))]
    if not hits:  # a row without the collection's name
        hits = [m for m in models
                if key in [_norm(r) for r in (m.get('Metadata') or {}).get('Paper Rows') or []]]
    if not hits:
        raise KeyError(f'{row_or_config!r} is neither a config nor a paper row of the '
                       f'metafiles listed by {osp.join(index_root(root), INDEX)}')
    if len(hits) > 1:
        raise KeyError(f'{row_or_config!r} is ambiguous: ' +
                       ', '.join(f'{m["Config"]} ({"; ".join(paper_rows(m))})' for m in hits))
    return hits[0]


def paper_numbers(row_or_config: str, dataset: Optional[str] = None,
                  root: Optional[str] = None) -> Dict[str, float]:
    """The paper's numbers of a config's table row, or of a paper row.

    Args:
        row_or_config (str): A config or a paper row (see :func:`find_model`), e.g.
            ``'FCOS-OWP Table 3: frozen fb'``.
        dataset (str, optional): The result's dataset, needed when the row has results on
            several (RbA: ``'Road Anomaly'``, ``'Fishyscapes LaF'``).
        root (str, optional): See :func:`index_root`.

    Returns:
        dict[str, float]: Metric -> number as the paper prints it (FCOS-OWP: ``'base AP'``,
        ``'base AR10'``, ``'base AR100'``, ``'novel AP'``, ``'novel AR10'``,
        ``'novel AR100'``, ``'base AR300'``, ``'novel AR300'``; N/A entries absent). Empty
        for a config that reproduces no row (a variant, a figure cell).
    """
    model = find_model(row_or_config, root)
    results = model.get('Results') or []
    if dataset is not None:
        results = [r for r in results if r['Dataset'] == dataset]
        if not results:
            raise KeyError(f'{model["Config"]}: no result on {dataset!r} (have: ' + ', '.join(
                repr(r['Dataset']) for r in model.get('Results') or []) + ')')
    if len(results) > 1:
        raise ValueError(f'{model["Config"]} has results on several datasets (' + ', '.join(
            repr(r['Dataset']) for r in results) + '): pass dataset=')
    return {k: float(v) for k, v in results[0]['Metrics'].items()} if results else {}
