"""Named base/novel class splits of the open-world setting (FCOS-OWP §5, "Datasets").

* COCO: ``voc`` — the 20 PASCAL VOC classes (seen, base); ``nonvoc`` — the other 60
  (unseen, novel); ``coco`` — all 80.
* LVIS v1: ``lvis_base`` — "all rare classes, common classes, and the first 305 frequent
  classes" (by category id); ``lvis_novel`` — "the rest of the 100 frequent classes". Both
  are computed from the categories of the LVIS json (their ``frequency`` field), since
  names and ids come from the file.
* The generated dataset (:mod:`mmowp.datasets.generate`): ``owd_base`` / ``owd_novel``, read
  from the categories' ``split`` field when the json has it, else the generator's lists.

Benchmarks that other open-world papers report (OLN, GGN, GOOD, UDOS; configs in
``configs/benchmarks/``):

* COCO person -> non-person: ``person`` (the one seen class) / ``nonperson`` (the other 79).
* COCO (80) -> LVIS non-COCO: ``lvis_coco`` -- the LVIS categories that are COCO categories,
  matched by WordNet synset with the LVIS API's official ``coco_to_synset.json`` (shipped in
  ``mmowp/datasets/data/``, see :func:`coco_synsets`); ``lvis_noncoco`` -- all other LVIS
  categories. Both are computed from the ``synset`` field of the json's categories.
* Cross-dataset, class-agnostic ground truth (e.g. UVO's COCO-format json, whose categories
  carry no split, typically one ``object`` category): ``none`` -- no category of the file is
  known, so every ground-truth object is novel (``known_classes='none'`` in
  ``OpenWorldCocoMetric``); ``all`` -- every category of the file (e.g. the classes of the
  dataset that loads such a file for testing).

A split is named in a config (``known_classes='voc'``) or given as an explicit list of
category names. Unknown split or category names raise ``ValueError`` naming them and
listing the valid ones.
"""
import json
import os.path as osp
from functools import cache
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from .generate import BASE_CLASSES as OWD_BASE_CLASSES
from .generate import NOVEL_CLASSES as OWD_NOVEL_CLASSES

ClassSpec = Union[str, Sequence[str]]

#: The 80 COCO class names, in COCO category-id order (as mmdet's ``CocoDataset``).
COCO_CLASSES: Tuple[str, ...] = (
    'person', 'bicycle', 'car', 'motorcycle', 'airplane', 'bus', 'train', 'truck', 'boat',
    'traffic light', 'fire hydrant', 'stop sign', 'parking meter', 'bench', 'bird', 'cat',
    'dog', 'horse', 'sheep', 'cow', 'elephant', 'bear', 'zebra', 'giraffe', 'backpack',
    'umbrella', 'handbag', 'tie', 'suitcase', 'frisbee', 'skis', 'snowboard', 'sports ball',
    'kite', 'baseball bat', 'baseball glove', 'skateboard', 'surfboard', 'tennis racket',
    'bottle', 'wine glass', 'cup', 'fork', 'knife', 'spoon', 'bowl', 'banana', 'apple',
    'sandwich', 'orange', 'broccoli', 'carrot', 'hot dog', 'pizza', 'donut', 'cake', 'chair',
    'couch', 'potted plant', 'bed', 'dining table', 'toilet', 'tv', 'laptop', 'mouse',
    'remote', 'keyboard', 'cell phone', 'microwave', 'oven', 'toaster', 'sink',
    'refrigerator', 'book', 'clock', 'vase', 'scissors', 'teddy bear', 'hair drier',
    'toothbrush')
#: The 20 PASCAL VOC classes under their COCO names (seen/base classes of FCOS-OWP Table 1).
VOC_CLASSES: Tuple[str, ...] = (
    'airplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car', 'cat', 'chair', 'cow',
    'dining table', 'dog', 'horse', 'motorcycle', 'person', 'potted plant', 'sheep', 'couch',
    'train', 'tv')
#: The 60 COCO classes not in VOC (unseen/novel), in COCO order.
NONVOC_CLASSES: Tuple[str, ...] = tuple(c for c in COCO_CLASSES if c not in VOC_CLASSES)
#: "the first 305 frequent classes" of LVIS v1 are base (FCOS-OWP §5).
LVIS_NUM_BASE_FREQUENT = 305


def _need_categories(name: str, categories: Optional[Sequence[dict]]) -> Sequence[dict]:
    if not categories:
        raise ValueError(f'split {name!r} is computed from the annotation file\'s categories; '
                         'pass the categories of the json (e.g. coco.dataset["categories"])')
    return categories


def _lvis_split(categories: Optional[Sequence[dict]], novel: bool) -> Tuple[str, ...]:
    cats = sorted(_need_categories('lvis_novel' if novel else 'lvis_base', categories),
                  key=lambda c: c['id'])
    missing = [c['name'] for c in cats if c.get('frequency') not in ('r', 'c', 'f')]
    if missing:
        raise ValueError(f'LVIS split needs a frequency r/c/f on every category; missing on '
                         f'{_short(missing)}: is this an LVIS json?')
    frequent = [c['name'] for c in cats if c['frequency'] == 'f']
    base_f = set(frequent[:LVIS_NUM_BASE_FREQUENT])
    if novel:
        return tuple(c['name'] for c in cats
                     if c['frequency'] == 'f' and c['name'] not in base_f)
    return tuple(c['name'] for c in cats if c['frequency'] in ('r', 'c') or c['name'] in base_f)


#: The LVIS API's official COCO -> WordNet synset mapping, shipped with the package (source,
#: commit and license in ``mmowp/datasets/data/README.md``).
COCO_TO_SYNSET_FILE = osp.join(osp.dirname(osp.abspath(__file__)), 'data', 'coco_to_synset.json')


@cache
def _load_coco_synsets() -> Tuple[Tuple[str, str], ...]:
    with open(COCO_TO_SYNSET_FILE) as f:
        data = json.load(f)
    return tuple((name, entry['synset']) for name, entry in data.items())


def coco_synsets() -> Dict[str, str]:
    """COCO class name -> WordNet synset, from the LVIS API's ``data/coco_to_synset.json``.

    That file "provides a mapping from each COCO category to a synset. The synset can then be
    used to find the corresponding category in LVIS" (LVIS API, ``data/README.md``); detectron2's
    ``prepare_cocofied_lvis.py`` uses the same mapping.

    Returns:
        dict[str, str]: The 80 COCO names (as :data:`COCO_CLASSES`) -> synset (e.g.
        ``'tv' -> 'television_receiver.n.01'``).
    """
    return dict(_load_coco_synsets())


def _lvis_coco_split(categories: Optional[Sequence[dict]], novel: bool) -> Tuple[str, ...]:
    name = 'lvis_noncoco' if novel else 'lvis_coco'
    cats = sorted(_need_categories(name, categories), key=lambda c: c['id'])
    missing = [c.get('name', c['id']) for c in cats if not c.get('synset')]
    if missing:
        raise ValueError(f'split {name!r} matches LVIS categories to COCO by their "synset" '
                         f'field; it is missing on {_short(missing)}: is this an LVIS json?')
    coco = set(coco_synsets().values())
    in_coco = [c['name'] for c in cats if c['synset'] in coco]
    if not in_coco:
        raise ValueError(f'split {name!r}: no category of the annotation file has one of the 80 '
                         f'COCO synsets of {COCO_TO_SYNSET_FILE}: is this an LVIS json?')
    if novel:
        return tuple(c['name'] for c in cats if c['synset'] not in coco)
    return tuple(in_coco)


def _all_categories(categories: Optional[Sequence[dict]]) -> Tuple[str, ...]:
    cats = _need_categories('all', categories)
    return tuple(c['name'] for c in sorted(cats, key=lambda c: c['id']))


#: Splits that are empty by definition (every category of the file is novel).
EMPTY_SPLITS = ('none', )


def _owd_split(categories: Optional[Sequence[dict]], novel: bool) -> Tuple[str, ...]:
    if categories and all('split' in c for c in categories):
        want = 'novel' if novel else 'base'
        return tuple(c['name'] for c in sorted(categories, key=lambda c: c['id'])
                     if c['split'] == want)
    return tuple(OWD_NOVEL_CLASSES if novel else OWD_BASE_CLASSES)


#: name -> function(categories or None) -> class names
SPLITS: Dict[str, Callable[[Optional[Sequence[dict]]], Tuple[str, ...]]] = {
    'coco': lambda cats: COCO_CLASSES,
    'voc': lambda cats: VOC_CLASSES,
    'nonvoc': lambda cats: NONVOC_CLASSES,
    'lvis_base': lambda cats: _lvis_split(cats, novel=False),
    'lvis_novel': lambda cats: _lvis_split(cats, novel=True),
    'owd_base': lambda cats: _owd_split(cats, novel=False),
    'owd_novel': lambda cats: _owd_split(cats, novel=True),
    'person': lambda cats: ('person', ),
    'nonperson': lambda cats: tuple(c for c in COCO_CLASSES if c != 'person'),
    'lvis_coco': lambda cats: _lvis_coco_split(cats, novel=False),
    'lvis_noncoco': lambda cats: _lvis_coco_split(cats, novel=True),
    'all': _all_categories,
    'none': lambda cats: (),
}


def split_names() -> List[str]:
    """Names of the known splits."""
    return list(SPLITS)


def _short(names: Sequence[str], limit: int = 30) -> str:
    names = list(names)
    if len(names) <= limit:
        return str(names)
    return f'{names[:limit]}... ({len(names)} in total)'


def resolve_classes(spec: ClassSpec,
                    categories: Optional[Sequence[dict]] = None,
                    source: str = 'the annotation file') -> Tuple[str, ...]:
    """Class names of a split name or of an explicit list of names.

    Args:
        spec (str | Sequence[str]): A split name (see :func:`split_names`) or category
            names.
        categories (Sequence[dict], optional): The ``categories`` of the annotation json.
            When given, every name must be one of them and the result follows their order
            (category-id order), which is also the label order mmdet's ``CocoDataset``
            uses. Needed for the LVIS splits.
        source (str): What ``categories`` came from, for error messages.

    Returns:
        tuple[str]: The class names.
    """
    if isinstance(spec, str):
        if spec not in SPLITS:
            raise ValueError(f'unknown split {spec!r}; valid splits: {split_names()} '
                             '(or give an explicit list of category names)')
        names = SPLITS[spec](categories)
        label = f'split {spec!r}'
    else:
        names = tuple(spec)
        bad = [n for n in names if not isinstance(n, str)]
        if bad:
            raise ValueError(f'class names must be strings, got {bad}')
        label = 'class list'
    if not names:
        if isinstance(spec, str) and spec in EMPTY_SPLITS:
            return ()
        raise ValueError(f'{label} is empty (to declare that no class is known, as for a '
                         f"class-agnostic cross-dataset json, use the split 'none')")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'{label} names {dup} more than once')
    if categories is None:
        return tuple(names)
    valid = [c['name'] for c in sorted(categories, key=lambda c: c['id'])]
    unknown = [n for n in names if n not in set(valid)]
    if unknown:
        raise ValueError(f'{label}: category names {unknown} are not in {source}; valid '
                         f'names: {_short(valid)}')
    chosen = set(names)
    return tuple(n for n in valid if n in chosen)


def complement_classes(known: Sequence[str], categories: Sequence[dict]) -> Tuple[str, ...]:
    """The categories of ``categories`` not in ``known`` (category-id order)."""
    known = set(known)
    return tuple(c['name'] for c in sorted(categories, key=lambda c: c['id'])
                 if c['name'] not in known)
