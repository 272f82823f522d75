"""OpenWorldCocoMetric validates its own ann_file with mmowp.datasets.validate, with the
same errors as the datasets and the same counted warnings (whose records the evaluator,
unlike the datasets, keeps as ground truth)."""
import copy
import json
import math
import warnings

import numpy as np
import pytest

import mmowp  # noqa: F401
from mmowp.datasets import OpenWorldCocoDataset
from mmowp.datasets.validate import validate_coco_dict
from mmowp.evaluation import OpenWorldCocoMetric


def _valid() -> dict:
    """Two images, a base and a novel class, one annotation of each per image."""
    anns = []
    for img in (1, 2):
        for cat, x in ((1, 5), (2, 40)):
            anns.append(dict(id=len(anns) + 1, image_id=img, category_id=cat,
                             bbox=[x, 5.0, 20, 20], area=400.0, iscrowd=0))
    return dict(images=[dict(id=i, file_name=f'{i}.jpg', width=64, height=64) for i in (1, 2)],
                annotations=anns,
                categories=[dict(id=1, name='base_obj', split='base'),
                            dict(id=2, name='novel_obj', split='novel')])


def _write(tmp_path, data, name='gt.json') -> str:
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        json.dump(data, f)  # NaN / Infinity are written as json.dump does by default
    return path


def _metric(path, **kw) -> OpenWorldCocoMetric:
    return OpenWorldCocoMetric(ann_file=path, known_classes=['base_obj'], **kw)


def _set(path_keys, value):
    """A mutation setting data[k1][k2]... = value."""
    def mutate(d):
        obj = d
        for k in path_keys[:-1]:
            obj = obj[k]
        obj[path_keys[-1]] = value
    return mutate


def _delete(path_keys):
    def mutate(d):
        obj = d
        for k in path_keys[:-1]:
            obj = obj[k]
        del obj[path_keys[-1]]
    return mutate


def _append(key, record):
    return lambda d: d[key].append(copy.deepcopy(record))


# (mutation, regex of the error); every message names the file
CASES = {
    'no annotations list': (_delete(['annotations']), r"no 'annotations' key at the top level"),
    'annotations not a list': (_set(['annotations'], {}), r"'annotations' must be a list"),
    'image without id': (_delete(['images', 0, 'id']), r"image '#0' has no 'id' key"),
    'annotation without bbox': (_delete(['annotations', 2, 'bbox']),
                                r"annotation 3 has no 'bbox' key"),
    'annotation without area': (_delete(['annotations', 0, 'area']),
                                r"annotation 1 has no 'area' key"),
    'category without name': (_delete(['categories', 1, 'name']),
                               r"category 2 has no 'name' key"),
    'category_id a string': (_set(['annotations', 1, 'category_id'], '2'),
                             r"annotation 2: 'category_id' must be int, got str '2'"),
    'boolean id': (_set(['annotations', 1, 'id'], True), r"annotation True: 'id' must be int"),
    'bbox a dict': (_set(['annotations', 0, 'bbox'], {'x': 1}),
                    r"annotation 1: 'bbox' must be list"),
    'bbox of 3 numbers': (_set(['annotations', 0, 'bbox'], [1, 2, 3]),
                          r'annotation 1: "bbox" must be 4 finite numbers'),
    'NaN box': (_set(['annotations', 3, 'bbox'], [1.0, math.nan, 5.0, 5.0]),
                r'annotation 4: "bbox" must be 4 finite numbers'),
    'infinite area': (_set(['annotations', 3, 'area'], math.inf),
                      r'annotation 4: "area" must be a finite number'),
    'iscrowd not 0/1': (_set(['annotations', 0, 'iscrowd'], 2),
                        r'annotation 1: "iscrowd" must be 0 or 1, got 2'),
    'zero width image': (_set(['images', 1, 'width'], 0),
                         r'image 2 \(2.jpg\) has width 0 and height 64'),
    'duplicate image ids': (_set(['images', 1, 'id'], 1), r'duplicate image ids \[1\]'),
    'duplicate annotation ids': (_set(['annotations', 3, 'id'], 1),
                                 r'duplicate annotation ids \[1\]'),
    'duplicate category ids': (_set(['categories', 1, 'id'], 1),
                               r'duplicate category ids \[1\]'),
    'duplicate category names': (_set(['categories', 1, 'name'], 'base_obj'),
                                 r"duplicate category names \['base_obj'\]"),
    'dangling image id': (_set(['annotations', 2, 'image_id'], 99),
                          r'annotation 3 refers to image_id 99, which is not in "images"'),
    'dangling category id': (_set(['annotations', 2, 'category_id'], 7),
                             r'annotation 3 refers to category_id 7, which is not in '
                             r'"categories"'),
    'bad split': (_set(['categories', 1, 'split'], 'nvel'),
                  r"category 'novel_obj' \(id 2\) has split 'nvel'"),
    'dangling LVIS neg_category_ids': (_set(['images', 0, 'neg_category_ids'], [2, 5]),
                                       r"image 1: 'neg_category_ids' names category ids \[5\]"),
}


@pytest.mark.parametrize('case', sorted(CASES))
def test_malformed_record_errors(tmp_path, case):
    """Each kind of malformed record stops the metric when it is built, with the error the
    datasets give for the same file (naming the file, the record and the key)."""
    mutate, match = CASES[case]
    data = _valid()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(ValueError, match=match) as metric_err:
        _metric(path)
    assert path in str(metric_err.value)
    # the dataset reading the same file fails with the same message, before any image
    with pytest.raises(ValueError) as dataset_err:
        OpenWorldCocoDataset(ann_file=path, data_prefix=dict(img=str(tmp_path)), pipeline=[],
                             known_classes=['base_obj'], test_mode=True)
    assert str(dataset_err.value) == str(metric_err.value)


def test_not_json_and_missing_file(tmp_path):
    path = str(tmp_path / 'broken.json')
    with open(path, 'w') as f:
        f.write('{"images": [')
    with pytest.raises(ValueError, match=r'broken.json: not a valid json file'):
        _metric(path)
    with pytest.raises(FileNotFoundError, match=r'ann_file .*nowhere.json not found'):
        _metric(str(tmp_path / 'nowhere.json'))


def test_malformed_record_evaluated_silently_before(tmp_path):
    """An annotation whose category is not defined, and a NaN box: without validation (the
    behaviour before) the metric evaluates and returns numbers that look fine; now it
    stops when built."""
    preds = [dict(img_id=i, bboxes=np.array([[5, 5, 25, 25], [40, 5, 60, 25]], np.float32),
                  scores=np.array([0.9, 0.8], np.float32), labels=np.zeros(2, np.int64))
             for i in (1, 2)]
    # dangling category: base object 3 silently leaves the evaluation (1 base GT left, all
    # recalled); NaN box: novel object 4 can never be matched (novel recall 1/2)
    for case, key, value, n_gt in (('dangling category id', 'base_AR@100', 1.0, 1),
                                   ('NaN box', 'novel_AR@100', 0.5, 2)):
        mutate, match = CASES[case]
        data = _valid()
        mutate(data)
        path = _write(tmp_path, data)
        unchecked = _metric(path, validate=False, class_agnostic=True)
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            numbers, _ = unchecked.evaluate_predictions(preds)
        assert all(math.isfinite(v) for v in numbers.values())  # a plausible-looking result
        assert numbers[key] == value
        split = unchecked.known_ids if key.startswith('base') else unchecked.novel_ids
        dt = unchecked._detections(preds, agnostic=True)
        assert unchecked.class_agnostic_recall(dt, split).num_gt[0, 0] == n_gt
        with pytest.raises(ValueError, match=match):
            _metric(path)


def test_counted_warnings_same_as_dataset(tmp_path):
    """Degenerate, outside and partly-outside boxes: the same counts and example ids as the
    dataset's warnings; the evaluator says they stay ground truth (and they do: a novel
    box of zero width is an object no detection can recall)."""
    data = _valid()
    data['annotations'] += [
        dict(id=10, image_id=1, category_id=2, bbox=[30, 30, 0, 10], area=0.0, iscrowd=0),
        dict(id=11, image_id=1, category_id=2, bbox=[100, 100, 5, 5], area=25.0, iscrowd=0),
        dict(id=12, image_id=2, category_id=2, bbox=[60, 60, 10, 10], area=100.0, iscrowd=0),
        dict(id=13, image_id=2, category_id=1, bbox=[5, 5, 0.5, 9], area=4.5, iscrowd=0)]
    path = _write(tmp_path, data)
    with pytest.warns(UserWarning) as rec:
        metric = _metric(path)
    msgs = [str(w.message) for w in rec]
    assert any('2 of 8 annotations have a box with zero or negative size' in m and
               '[10, 13]' in m and 'stay ground truth' in m for m in msgs), msgs
    assert any('1 of 8 annotations have a box entirely outside its image (annotation ids '
               '[11])' in m for m in msgs), msgs
    assert any('1 of 8 annotations have a box that extends beyond its image (annotation ids '
               '[12])' in m for m in msgs), msgs
    counts = dict(degenerate=2, outside=1, partly_outside=1)
    with pytest.warns(UserWarning) as rec_ds:
        assert validate_coco_dict(copy.deepcopy(data), source=path) == counts
    assert any('they are skipped' in str(w.message) for w in rec_ds)
    with pytest.warns(UserWarning):
        assert validate_coco_dict(copy.deepcopy(data), source=path,
                                  purpose='evaluation') == counts
    # the evaluator keeps them: novel GT 2, 4 (recalled below) and 10, 11, 12 (warned
    # about; area 0 lies in the 'all' range) are the 5 objects of novel recall
    preds = [dict(img_id=i, bboxes=np.array([[40, 5, 60, 25]], np.float32),
                  scores=np.array([0.9], np.float32), labels=np.zeros(1, np.int64))
             for i in (1, 2)]
    metric.class_agnostic = True
    numbers, _ = metric.evaluate_predictions(preds)
    assert numbers['novel_AR@100'] == pytest.approx(2 / 5)


def test_lvis_images_without_file_name(tmp_path):
    """LVIS v1 names images by coco_url: the evaluator does not need file_name (it reads
    no image); the dataset purpose still does."""
    data = _valid()
    for img in data['images']:
        img['coco_url'] = 'http://images.cocodataset.org/val2017/' + img.pop('file_name')
        img['neg_category_ids'], img['not_exhaustive_category_ids'] = [], [1]
    path = _write(tmp_path, data)
    _metric(path)
    with pytest.raises(ValueError, match=r"image 1 has no 'file_name' key"):
        validate_coco_dict(copy.deepcopy(data), source=path)
    with pytest.raises(ValueError, match='purpose must be one of'):
        validate_coco_dict(data, source=path, purpose='train')
