"""Check a COCO-format annotation file before mmdet/pycocotools read it.

pycocotools and mmdet's ``CocoDataset`` fail on malformed annotation files with a bare
``KeyError: 'bbox'`` or ``TypeError`` deep in their code, and silently drop some records
(``parse_data_info`` skips boxes with ``w < 1``, ``h < 1`` or ``area <= 0`` and boxes that
do not overlap their image). :func:`validate_coco_dict` turns the first kind into a
``ValueError`` that names the file, the record (image / annotation / category id) and the
key, and the second kind into one warning per kind with a count and example ids, so that
what is skipped is documented rather than silent:

* **errors**: missing top-level lists; an image, annotation or category without a required
  key or with a value of the wrong type (ids must be integers, ``bbox`` four finite
  numbers, ``file_name`` a string, ``width``/``height`` positive); duplicate image,
  annotation or category ids; duplicate category names; an annotation whose ``image_id`` or
  ``category_id`` is not defined in the file; a category ``split`` field (generated
  datasets) other than ``'base'``/``'novel'``.
* **warnings** (the record is skipped by mmdet's ``CocoDataset``, as it always was):
  boxes with zero or negative width/height (or below 1 pixel, or ``area <= 0``), boxes
  entirely outside their image. Boxes that stick out of their image are kept (FCOS targets
  handle them) and reported in the same way.

The evaluator (:class:`~mmowp.evaluation.OpenWorldCocoMetric`) checks its own annotation
file with ``purpose='evaluation'``: the same errors, except that ``file_name`` is not
required (it reads no image; LVIS v1 files name images by ``coco_url``), and the same
counted warnings, whose records are *not* skipped there: they stay ground truth, as in
pycocotools. Both purposes also check ``iscrowd`` (0 or 1 where present) and LVIS's
``neg_category_ids`` / ``not_exhaustive_category_ids`` (lists of defined category ids).
"""
import math
import warnings
from typing import Dict, List, Tuple, Union

_IMAGE_KEYS = {'id': int, 'file_name': str, 'width': (int, float), 'height': (int, float)}
_ANN_KEYS = {'id': int, 'image_id': int, 'category_id': int, 'bbox': list,
            'area': (int, float)}
_CAT_KEYS = {'id': int, 'name': str}
_SPLITS = ('base', 'novel')
_PURPOSES = ('dataset', 'evaluation')


def _is(value: object, types: Union[type, Tuple[type, ...]]) -> bool:
    # bool is an int subclass: True is not a valid id
    return isinstance(value, types) and not isinstance(value, bool)


def _check_records(records: list, kind: str, required: dict, source: str) -> None:
    for i, rec in enumerate(records):
        if not isinstance(rec, dict):
            raise ValueError(f'{source}: {kind} #{i} is a {type(rec).__name__}, not an object')
        rid = rec.get('id', f'#{i}')
        for key, types in required.items():
            if key not in rec:
                raise ValueError(f'{source}: {kind} {rid!r} has no {key!r} key')
            if not _is(rec[key], types):
                names = ' or '.join(t.__name__ for t in (types if isinstance(types, tuple)
                                                         else (types, )))
                raise ValueError(f'{source}: {kind} {rid!r}: {key!r} must be {names}, got '
                                 f'{type(rec[key]).__name__} {rec[key]!r}')


def _duplicates(values: list) -> List:
    seen, dup = set(), []
    for v in values:
        if v in seen and v not in dup:
            dup.append(v)
        seen.add(v)
    return dup


def _warn(source: str, what: str, ids: list, total: int, action: str) -> None:
    warnings.warn(f'{source}: {len(ids)} of {total} annotations {what} (annotation ids '
                  f'{ids[:10]}{"..." if len(ids) > 10 else ""}); {action}', stacklevel=3)


def validate_coco_dict(data: dict, source: str = 'the annotation file',
                       purpose: str = 'dataset') -> Dict[str, int]:
    """Validate a loaded COCO-format dict; raise on errors, warn about skipped records.

    Args:
        data (dict): The json content.
        source (str): The file name, for messages.
        purpose (str): ``'dataset'`` (training / validation data: images need
            ``file_name``; warned records are skipped by mmdet) or ``'evaluation'`` (the
            evaluator's ground truth: no ``file_name`` needed; warned records stay
            ground truth, as in pycocotools). Only the requirements and the wording of
            the warnings differ.

    Returns:
        dict[str, int]: Counts of the warned cases: ``degenerate`` (zero/negative size),
        ``outside`` (no overlap with the image), ``partly_outside``.
    """
    if not isinstance(data, dict):
        raise ValueError(f'{source}: the top level must be an object with "images", '
                         f'"annotations" and "categories", got {type(data).__name__}')
    for key in ('images', 'annotations', 'categories'):
        if key not in data:
            raise ValueError(f'{source}: no {key!r} key at the top level')
        if not isinstance(data[key], list):
            raise ValueError(f'{source}: {key!r} must be a list, got '
                             f'{type(data[key]).__name__}')
    if purpose not in _PURPOSES:
        raise ValueError(f'purpose must be one of {_PURPOSES}, got {purpose!r}')
    images, anns, cats = data['images'], data['annotations'], data['categories']
    image_keys = dict(_IMAGE_KEYS)
    if purpose == 'evaluation':
        del image_keys['file_name']
    _check_records(images, 'image', image_keys, source)
    _check_records(anns, 'annotation', _ANN_KEYS, source)
    _check_records(cats, 'category', _CAT_KEYS, source)
    for kind, records in (('image', images), ('annotation', anns), ('category', cats)):
        dup = _duplicates([r['id'] for r in records])
        if dup:
            raise ValueError(f'{source}: duplicate {kind} ids {dup[:10]}')
    dup = _duplicates([c['name'] for c in cats])
    if dup:
        raise ValueError(f'{source}: duplicate category names {dup[:10]}')
    bad_split = [(c['id'], c['name'], c['split']) for c in cats
                 if 'split' in c and c['split'] not in _SPLITS]
    if bad_split:
        cid, name, split = bad_split[0]
        raise ValueError(f'{source}: category {name!r} (id {cid}) has split {split!r}, not '
                         f'one of {_SPLITS} ({len(bad_split)} such categories)')
    cat_ids = {c['id'] for c in cats}
    for img in images:
        if not (img['width'] > 0 and img['height'] > 0):
            raise ValueError(f'{source}: image {img["id"]} ({img.get("file_name", "")}) has '
                             f'width {img["width"]} and height {img["height"]}; both must be '
                             '> 0')
        for key in ('neg_category_ids', 'not_exhaustive_category_ids'):  # LVIS
            if key not in img:
                continue
            ids = img[key]
            if not isinstance(ids, list) or not all(_is(c, int) for c in ids):
                raise ValueError(f'{source}: image {img["id"]}: {key!r} must be a list of '
                                 f'category ids, got {ids!r}')
            dangling = [c for c in ids if c not in cat_ids]
            if dangling:
                raise ValueError(f'{source}: image {img["id"]}: {key!r} names category ids '
                                 f'{dangling[:10]}, which are not in "categories"')
    by_id = {img['id']: img for img in images}
    degenerate, outside, partly = [], [], []
    for ann in anns:
        aid, box = ann['id'], ann['bbox']
        if ann['image_id'] not in by_id:
            raise ValueError(f'{source}: annotation {aid} refers to image_id '
                             f'{ann["image_id"]}, which is not in "images"')
        if ann['category_id'] not in cat_ids:
            raise ValueError(f'{source}: annotation {aid} refers to category_id '
                             f'{ann["category_id"]}, which is not in "categories"')
        if len(box) != 4 or not all(_is(v, (int, float)) and math.isfinite(v) for v in box):
            raise ValueError(f'{source}: annotation {aid}: "bbox" must be 4 finite numbers '
                             f'[x, y, w, h], got {box!r}')
        if not math.isfinite(ann['area']):
            raise ValueError(f'{source}: annotation {aid}: "area" must be a finite number, got '
                             f'{ann["area"]!r}')
        if 'iscrowd' in ann and ann['iscrowd'] not in (0, 1):  # True/False compare equal
            raise ValueError(f'{source}: annotation {aid}: "iscrowd" must be 0 or 1, got '
                             f'{ann["iscrowd"]!r}')
        x, y, w, h = box
        if w < 1 or h < 1 or ann['area'] <= 0:
            degenerate.append(aid)
            continue
        img = by_id[ann['image_id']]
        inter_w = min(x + w, img['width']) - max(x, 0)
        inter_h = min(y + h, img['height']) - max(y, 0)
        if inter_w <= 0 or inter_h <= 0:
            outside.append(aid)
        elif x < 0 or y < 0 or x + w > img['width'] or y + h > img['height']:
            partly.append(aid)
    skipped = 'they are skipped' if purpose == 'dataset' else \
        'they stay ground truth of the evaluation, as in pycocotools'
    if degenerate:
        _warn(source, 'have a box with zero or negative size (w or h < 1, or area <= 0)',
              degenerate, len(anns), skipped)
    if outside:
        _warn(source, 'have a box entirely outside its image', outside, len(anns), skipped)
    if partly:
        _warn(source, 'have a box that extends beyond its image', partly, len(anns),
              'they are kept as given')
    return dict(degenerate=len(degenerate), outside=len(outside), partly_outside=len(partly))
