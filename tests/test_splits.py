"""Named open-world splits and the datasets that train on the known classes only."""
import json
import os.path as osp

import numpy as np
import pytest
from mmdet.datasets import CocoDataset
from mmdet.registry import DATASETS

import mmowp  # noqa: F401
from mmowp.datasets.splits import (
    COCO_CLASSES,
    NONVOC_CLASSES,
    VOC_CLASSES,
    complement_classes,
    resolve_classes,
    split_names,
)

BASE = ['circle', 'square', 'triangle', 'star', 'cross']
NOVEL = ['hexagon', 'diamond', 'ellipse', 'arrow', 'lshape']


def _load(path):
    with open(path) as f:
        return json.load(f)


def test_coco_voc_nonvoc():
    voc, nonvoc = resolve_classes('voc'), resolve_classes('nonvoc')
    assert len(voc) == 20 and len(nonvoc) == 60
    assert not set(voc) & set(nonvoc)
    assert set(voc) | set(nonvoc) == set(COCO_CLASSES)
    # mmdet's own COCO class list: the names must be COCO's spelling
    assert set(voc) <= set(CocoDataset.METAINFO['classes'])
    assert tuple(c for c in CocoDataset.METAINFO['classes'] if c not in voc) == NONVOC_CLASSES
    cats = [dict(id=i * 2 + 1, name=n) for i, n in enumerate(COCO_CLASSES)]
    assert resolve_classes('voc', cats) == tuple(c for c in COCO_CLASSES if c in VOC_CLASSES)
    assert complement_classes(resolve_classes('voc', cats), cats) == NONVOC_CLASSES


def _lvis_categories(seed=0):
    rng = np.random.default_rng(seed)
    freq = np.array(['r'] * 337 + ['c'] * 461 + ['f'] * 405)
    rng.shuffle(freq)
    ids = rng.permutation(np.arange(1, 1204))  # file order is not id order
    return [dict(id=int(i), name=f'n{int(i)}', frequency=str(f)) for i, f in zip(ids, freq)]


def test_lvis_split_from_categories():
    cats = _lvis_categories()
    base, novel = resolve_classes('lvis_base', cats), resolve_classes('lvis_novel', cats)
    assert len(base) == 337 + 461 + 305 and len(novel) == 100
    assert not set(base) & set(novel)
    freq = {c['name']: c['frequency'] for c in cats}
    ids = {c['name']: c['id'] for c in cats}
    f_ids = sorted(c['id'] for c in cats if c['frequency'] == 'f')
    # novel = the last 100 frequent categories by id; base keeps all r and c
    assert sorted(ids[n] for n in novel) == f_ids[305:]
    assert {n for n in base if freq[n] != 'f'} == {c['name'] for c in cats
                                                  if c['frequency'] in 'rc'}
    assert [ids[n] for n in base] == sorted(ids[n] for n in base)  # id order
    with pytest.raises(ValueError, match='categories'):
        resolve_classes('lvis_base')
    with pytest.raises(ValueError, match='frequency'):
        resolve_classes('lvis_novel', [dict(id=1, name='a')])


def test_owd_split(tiny_owd):
    val = _load(osp.join(tiny_owd, 'annotations', 'instances_val.json'))
    assert list(resolve_classes('owd_base', val['categories'])) == BASE
    assert list(resolve_classes('owd_novel', val['categories'])) == NOVEL
    # the split field wins over the generator's default lists
    cats = [dict(c, split='novel' if c['name'] == 'circle' else c['split'])
            for c in val['categories']]
    assert 'circle' in resolve_classes('owd_novel', cats)
    assert list(resolve_classes('owd_base')) == BASE  # no file: the generator's lists


def test_explicit_names_and_errors(tiny_owd):
    cats = _load(osp.join(tiny_owd, 'annotations', 'instances_val.json'))['categories']
    assert resolve_classes(['star', 'circle'], cats) == ('circle', 'star')  # id order
    with pytest.raises(ValueError, match=r"unknown split 'vco'.*'voc', 'nonvoc'"):
        resolve_classes('vco')
    with pytest.raises(ValueError, match=r"\['person', 'dog'\] are not in .*valid names: "
                                         r"\['circle'"):
        resolve_classes(['circle', 'person', 'dog'], cats)
    with pytest.raises(ValueError, match='not in'):
        resolve_classes('voc', cats)  # COCO names in the generated file
    with pytest.raises(ValueError, match='more than once'):
        resolve_classes(['circle', 'circle'], cats)
    with pytest.raises(ValueError, match='empty'):
        resolve_classes([], cats)
    assert set(split_names()) >= {'voc', 'nonvoc', 'lvis_base', 'lvis_novel', 'owd_base',
                                  'owd_novel'}


def _build(cfg):
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_open_world_coco_dataset_drops_novel(tiny_owd):
    ann = 'annotations/instances_val.json'
    raw = _load(osp.join(tiny_owd, ann))
    ds = _build(dict(type='OpenWorldCocoDataset', data_root=tiny_owd, ann_file=ann,
                     known_classes='owd_base', data_prefix=dict(img=''), test_mode=True,
                     pipeline=[]))
    assert list(ds.metainfo['classes']) == BASE
    base_ids = [c['id'] for c in raw['categories'] if c['name'] in BASE]
    n_base = sum(a['category_id'] in base_ids for a in raw['annotations'])
    n_novel = len(raw['annotations']) - n_base
    assert n_novel > 0
    insts = [i for k in range(len(ds)) for i in ds.get_data_info(k)['instances']]
    assert len(insts) == n_base  # every novel annotation dropped, every base one kept
    assert len(ds) == len(raw['images'])  # images (with their novel objects) stay
    # labels follow the class order: label of each instance is its category's base index
    by_img = {}
    for a in raw['annotations']:
        if a['category_id'] in base_ids:
            by_img.setdefault(a['image_id'], []).append(base_ids.index(a['category_id']))
    for k in range(len(ds)):
        info = ds.get_data_info(k)
        assert [i['bbox_label'] for i in info['instances']] == by_img.get(info['img_id'], [])


def test_open_world_coco_dataset_errors(tiny_owd):
    common = dict(type='OpenWorldCocoDataset', data_root=tiny_owd,
                  ann_file='annotations/instances_val.json', data_prefix=dict(img=''),
                  test_mode=True, pipeline=[])
    with pytest.raises(ValueError, match="unknown split 'bas'"):
        _build(dict(common, known_classes='bas'))
    with pytest.raises(ValueError, match=r"\['person'\] are not in .*instances_val.json"):
        _build(dict(common, known_classes=['circle', 'person']))
    with pytest.raises(ValueError, match='disagree with known_classes'):
        _build(dict(common, known_classes='owd_base', metainfo=dict(classes=('circle', ))))


def test_open_world_lvis_dataset_relabels(tiny_owd):
    ann = 'annotations/lvis_v1_val.json'
    raw = _load(osp.join(tiny_owd, ann))
    ds = _build(dict(type='OpenWorldLVISV1Dataset', data_root=tiny_owd, ann_file=ann,
                     known_classes='owd_base', data_prefix=dict(img=''), test_mode=True,
                     pipeline=[]))
    assert list(ds.metainfo['classes']) == BASE
    base_ids = sorted(c['id'] for c in raw['categories'] if c['name'] in BASE)
    assert ds.cat_ids == base_ids
    labels = sorted(i['bbox_label'] for k in range(len(ds))
                    for i in ds.get_data_info(k)['instances'])
    expected = sorted(base_ids.index(a['category_id']) for a in raw['annotations']
                      if a['category_id'] in base_ids)
    assert labels == expected and max(labels) < len(BASE)
    assert osp.isfile(osp.join(tiny_owd, ds.get_data_info(0)['img_path']))
