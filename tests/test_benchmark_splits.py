"""Benchmarks beyond the paper (COCO person -> non-person, COCO -> LVIS non-COCO, COCO -> UVO):
their splits, the shipped LVIS-COCO synset mapping, the metric on generated LVIS-format and
class-agnostic (UVO-like) files against pycocotools, and the configs."""
import copy
import json
import os.path as osp
import warnings

import mmcv
import numpy as np
import pytest
from mmdet.registry import DATASETS
from mmengine.config import Config
from mmengine.registry import DefaultScope
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

import mmowp  # noqa: F401
from mmowp.datasets.splits import (
    COCO_CLASSES,
    COCO_TO_SYNSET_FILE,
    coco_synsets,
    complement_classes,
    resolve_classes,
    split_names,
)
from mmowp.evaluation import OpenWorldCocoMetric

from ._helpers import flat_config
from .conftest import CONFIG_ROOT

#: COCO's category ids: 1..90 without the 10 ids COCO 2017 never used
COCO_IDS = [i for i in range(1, 91) if i not in (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)]
TOL = 1e-4


# ----------------------------------------------------------------------------- mapping
def test_shipped_mapping_is_the_official_coco_to_synset():
    with open(COCO_TO_SYNSET_FILE) as f:
        raw = json.load(f)
    assert len(raw) == 80
    assert set(raw) == set(COCO_CLASSES)
    # every COCO name carries its own COCO category id
    assert [raw[n]['coco_cat_id'] for n in COCO_CLASSES] == COCO_IDS
    synsets = coco_synsets()
    assert len(set(synsets.values())) == 80  # one LVIS category per COCO class
    # entries whose synset is not the COCO name, as detectron2's prepare_cocofied_lvis.py
    # lists them (an independent copy of the same official mapping)
    assert synsets['cow'] == 'beef.n.01' and synsets['hot dog'] == 'frank.n.02'
    assert synsets['potted plant'] == 'pot.n.04' and synsets['tv'] == 'television_receiver.n.01'
    assert synsets['handbag'] == 'bag.n.04' and synsets['suitcase'] == 'bag.n.06'
    synsets['cow'] = 'changed'
    assert coco_synsets()['cow'] == 'beef.n.01'  # callers get a copy


def test_mapping_is_installed_as_package_data():
    cfg = open(osp.join(osp.dirname(CONFIG_ROOT), 'setup.cfg')).read()
    line = next(ln for ln in cfg.splitlines() if ln.startswith('mmowp = '))
    assert 'datasets/data/*' in line
    assert osp.isfile(osp.join(osp.dirname(COCO_TO_SYNSET_FILE), 'LICENSE.lvis-api'))


# ----------------------------------------------------------------------------- person split
def test_person_split():
    cats = [dict(id=i, name=n) for i, n in zip(COCO_IDS, COCO_CLASSES)]
    person, nonperson = resolve_classes('person', cats), resolve_classes('nonperson', cats)
    assert person == ('person', )
    assert len(nonperson) == 79 and 'person' not in nonperson
    assert nonperson == complement_classes(person, cats)
    assert set(person) | set(nonperson) == set(COCO_CLASSES)
    assert {'person', 'nonperson', 'lvis_coco', 'lvis_noncoco', 'all', 'none'} <= set(
        split_names())


# ----------------------------------------------------------------------------- LVIS format
NON_COCO_SYNSETS = ('aardvark.n.01', 'abacus.n.02', 'accordion.n.01', 'acorn.n.01',
                    'alarm_clock.n.01', 'alcohol.n.01', 'alligator.n.02', 'almond.n.02',
                    'ambulance.n.01', 'amplifier.n.01', 'anklet.n.03', 'antenna.n.01')
COCO_PICK = ('person', 'tv', 'cow', 'hot dog', 'potted plant', 'dining table', 'cup', 'bench')


def _lvis_json(seed: int = 0, n_img: int = 12) -> dict:
    """An LVIS-v1-format file: LVIS-style names (not COCO's), shuffled non-contiguous ids,
    8 categories with a COCO synset and 12 without."""
    rng = np.random.default_rng(seed)
    syn = coco_synsets()
    entries = [(syn[n].split('.')[0], syn[n]) for n in COCO_PICK]
    entries += [(s.split('.')[0], s) for s in NON_COCO_SYNSETS]
    ids = rng.permutation(np.arange(1, 3 * len(entries) + 1))[:len(entries)]
    cats = [dict(id=int(i), name=name, synset=s, frequency=str(rng.choice(list('rcf'))),
                 image_count=0, instance_count=0)
            for i, (name, s) in zip(ids, entries)]
    rng.shuffle(cats)
    images, anns = [], []
    for k in range(n_img):
        img_id = 100 + 7 * k
        images.append(dict(id=img_id, width=128, height=96, neg_category_ids=[],
                           not_exhaustive_category_ids=[],
                           coco_url=f'http://images.cocodataset.org/val2017/{img_id:012d}.jpg'))
        for _ in range(int(rng.integers(1, 7))):
            x, y = rng.uniform(0, 90, 2)
            w, h = rng.uniform(4, 40, 2)
            anns.append(dict(id=len(anns) + 1, image_id=img_id,
                             category_id=int(cats[rng.integers(len(cats))]['id']),
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h),
                             segmentation=[[x, y, x + w, y, x + w, y + h, x, y + h]]))
    return dict(images=images, annotations=anns, categories=cats)


def test_lvis_coco_split_by_synset():
    data = _lvis_json()
    cats = data['categories']
    coco, noncoco = resolve_classes('lvis_coco', cats), resolve_classes('lvis_noncoco', cats)
    by_name = {c['name']: c for c in cats}
    assert len(coco) == len(COCO_PICK) and len(noncoco) == len(NON_COCO_SYNSETS)
    # matched by synset, not by name: 'television_receiver' is COCO's 'tv', 'beef' its 'cow'
    assert {'television_receiver', 'beef', 'frank', 'pot'} <= set(coco)
    assert {by_name[n]['synset'] for n in coco} == {coco_synsets()[n] for n in COCO_PICK}
    assert set(noncoco) == {s.split('.')[0] for s in NON_COCO_SYNSETS}
    assert noncoco == complement_classes(coco, cats)
    # category-id order (the label order of mmdet's datasets)
    assert [by_name[n]['id'] for n in coco] == sorted(by_name[n]['id'] for n in coco)
    # errors name the missing field / the missing COCO synsets
    no_syn = [dict(c) for c in cats]
    no_syn[0].pop('synset')
    with pytest.raises(ValueError, match=r"'lvis_coco' matches LVIS categories to COCO by "
                                         r'their "synset" field'):
        resolve_classes('lvis_coco', no_syn)
    only_noncoco = [c for c in cats if c['name'] in noncoco]
    with pytest.raises(ValueError, match='no category of the annotation file has one of the 80'):
        resolve_classes('lvis_noncoco', only_noncoco)
    with pytest.raises(ValueError, match='computed from the annotation file'):
        resolve_classes('lvis_coco')


def _write(tmp_path, name: str, data: dict) -> str:
    path = str(tmp_path / name)
    with open(path, 'w') as f:
        json.dump(data, f)
    return path


def _build(cfg: dict):
    with DefaultScope.overwrite_default_scope('mmdet'):
        return DATASETS.build(cfg)


def test_lvis_dataset_keeps_coco_categories(tmp_path):
    data = _lvis_json()
    ann = _write(tmp_path, 'lvis_v1_val.json', data)
    ds = _build(dict(type='OpenWorldLVISV1Dataset', data_root=str(tmp_path), ann_file=ann,
                     known_classes='lvis_coco', data_prefix=dict(img=''), test_mode=True,
                     pipeline=[]))
    coco = resolve_classes('lvis_coco', data['categories'])
    assert tuple(ds.metainfo['classes']) == coco
    coco_ids = sorted(c['id'] for c in data['categories'] if c['name'] in coco)
    labels = sorted(i['bbox_label'] for k in range(len(ds))
                    for i in ds.get_data_info(k)['instances'])
    expected = sorted(coco_ids.index(a['category_id']) for a in data['annotations']
                      if a['category_id'] in coco_ids)
    assert labels == expected and len(expected) > 0
    assert len(expected) < len(data['annotations'])  # the non-COCO objects are dropped


def _preds(gt: dict, seed: int, n_per_img: int = 30) -> list:
    """Per-image class-agnostic predictions as CocoMetric.process stores them (xyxy)."""
    rng = np.random.default_rng(seed)
    by_img = {}
    for a in gt['annotations']:
        by_img.setdefault(a['image_id'], []).append(a['bbox'])
    out = []
    for im in gt['images']:
        boxes = []
        for _ in range(int(rng.integers(1, n_per_img))):
            own = by_img.get(im['id'], [])
            if own and rng.random() < 0.6:
                x, y, w, h = own[rng.integers(len(own))]
                x, y = x + rng.normal(0, 2), y + rng.normal(0, 2)
                w, h = w * rng.uniform(0.85, 1.15), h * rng.uniform(0.85, 1.15)
            else:
                x, y = rng.uniform(0, 100, 2)
                w, h = rng.uniform(4, 40, 2)
            boxes.append([x, y, x + w, y + h])
        boxes = np.array(boxes, np.float32).reshape(-1, 4)
        out.append(dict(img_id=im['id'], bboxes=boxes,
                        scores=np.round(rng.random(len(boxes)), 2).astype(np.float32),
                        labels=np.zeros(len(boxes), np.int64)))
    return out


def _pycocotools_ar(gt: dict, preds: list, keep_cat_ids, max_dets=(10, 100)) -> dict:
    """Class-agnostic AR@k of plain pycocotools COCOeval on the GT of ``keep_cat_ids`` only
    (the other GT removed), every detection kept."""
    gt = copy.deepcopy(gt)
    gt['annotations'] = [dict(a, iscrowd=a.get('iscrowd', 0)) for a in gt['annotations']
                         if a['category_id'] in set(keep_cat_ids)]
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    res = [dict(image_id=p['img_id'], category_id=int(keep_cat_ids[0]), score=float(s),
                bbox=[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])])
           for p in preds for b, s in zip(p['bboxes'], p['scores'])]
    ev = COCOeval(coco, coco.loadRes(res), 'bbox')
    ev.params.useCats = 0
    ev.params.maxDets = list(max_dets)
    ev.evaluate()
    ev.accumulate()
    out = {}
    for m, k in enumerate(max_dets):
        r = ev.eval['recall'][:, 0, 0, m]
        out[k] = float(np.mean(r[r > -1]))
    return out


def test_metric_coco_to_lvis_noncoco_equals_pycocotools(tmp_path):
    """Novel AR (non-COCO LVIS categories, 'removed' protocol) == pycocotools on the GT of
    those categories alone."""
    data = _lvis_json(seed=1, n_img=15)
    ann = _write(tmp_path, 'lvis_v1_val.json', data)
    metric = OpenWorldCocoMetric(ann_file=ann, known_classes='lvis_coco', class_agnostic=True,
                                 proposal_nums=(10, 100), exclude_known_from_budget=False)
    metric.dataset_meta = dict(classes=resolve_classes('lvis_coco', data['categories']))
    assert metric.ann_format == 'lvis'
    assert set(metric.novel_names) == {s.split('.')[0] for s in NON_COCO_SYNSETS}
    preds = _preds(data, seed=2)
    ours, _ = metric.evaluate_predictions(preds)
    noncoco_ids = sorted(metric.novel_ids)
    ref = _pycocotools_ar(data, preds, noncoco_ids)
    assert 0 < ours['novel_AR@100'] < 1
    assert ours['novel_AR@10'] == pytest.approx(ref[10], abs=TOL)
    assert ours['novel_AR@100'] == pytest.approx(ref[100], abs=TOL)
    assert ours['base_AP'] == -1.0  # class-agnostic: no base AP


# ----------------------------------------------------------------------------- UVO-like
def _agnostic_json(tmp_path, seed: int = 0, n_img: int = 10) -> dict:
    """A COCO-format file with class-agnostic GT (one category, 'object'), as UVO's frames,
    and its image files."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for k in range(n_img):
        name = f'frame_{k:03d}.png'
        mmcv.imwrite(np.full((96, 128, 3), 40 * (k % 5), np.uint8), str(tmp_path / name))
        images.append(dict(id=k + 1, width=128, height=96, file_name=name))
        for _ in range(int(rng.integers(1, 8))):
            x, y = rng.uniform(0, 90, 2)
            w, h = rng.uniform(4, 40, 2)
            anns.append(dict(id=len(anns) + 1, image_id=k + 1, category_id=1,
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h), iscrowd=0))
    return dict(images=images, annotations=anns,
                categories=[dict(id=1, name='object', supercategory='object')])


def test_none_and_all_splits():
    cats = [dict(id=1, name='object')]
    assert resolve_classes('none', cats) == () and resolve_classes('none') == ()
    assert complement_classes(resolve_classes('none', cats), cats) == ('object', )
    assert resolve_classes('all', cats) == ('object', )
    two = [dict(id=5, name='b'), dict(id=2, name='a')]
    assert resolve_classes('all', two) == ('a', 'b')  # id order
    with pytest.raises(ValueError, match="use the split 'none'"):
        resolve_classes([], cats)
    with pytest.raises(ValueError, match='computed from the annotation file'):
        resolve_classes('all')


def test_metric_coco_to_uvo_class_agnostic_gt(tmp_path):
    """known_classes='none': every GT object of a class-agnostic file is novel; novel AR ==
    pycocotools on all GT. The Table 1 split ('voc') is refused with the file named."""
    data = _agnostic_json(tmp_path)
    ann = _write(tmp_path, 'UVO_frame_val.json', data)
    with pytest.raises(ValueError, match=r"\['airplane'.*are not in .*UVO_frame_val.json"):
        OpenWorldCocoMetric(ann_file=ann, known_classes='voc')
    for exclude in (True, False):  # nothing is known, so both protocols agree
        metric = OpenWorldCocoMetric(ann_file=ann, known_classes='none', class_agnostic=True,
                                     proposal_nums=(10, 100),
                                     exclude_known_from_budget=exclude)
        metric.dataset_meta = dict(classes=('object', ))
        assert metric.known_ids == [] and metric.novel_names == ('object', )
        preds = _preds(data, seed=4)
        with warnings.catch_warnings():
            # nothing is known by construction: no base AR to compute
            warnings.filterwarnings('ignore', message='no annotation of the known classes')
            ours, _ = metric.evaluate_predictions(preds)
        ref = _pycocotools_ar(data, preds, [1])
        assert 0 < ours['novel_AR@100'] < 1
        assert ours['novel_AR@10'] == pytest.approx(ref[10], abs=TOL)
        assert ours['novel_AR@100'] == pytest.approx(ref[100], abs=TOL)
    # the dataset that loads the frames keeps the file's one category ('all')
    ds = _build(dict(type='OpenWorldCocoDataset', data_root=str(tmp_path), ann_file=ann,
                     known_classes='all', data_prefix=dict(img=''), test_mode=True,
                     pipeline=[]))
    assert tuple(ds.metainfo['classes']) == ('object', )
    assert sum(len(ds.get_data_info(k)['instances']) for k in range(len(ds))) == len(
        data['annotations'])


# ----------------------------------------------------------------------------- configs
BENCH = osp.join(CONFIG_ROOT, 'benchmarks')
OWP_T1 = osp.join(CONFIG_ROOT, 'owp', 'owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py')
BASELINE_T1 = osp.join(CONFIG_ROOT, 'baseline', 'fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py')
#: config -> (Table 1 config it inherits, train split, val dataset split, metric split,
#: number of classes)
CONFIGS = {
    'owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-person2nonperson.py': (OWP_T1, 'person', 'person',
                                                            'person', 1),
    'fcos_r50-caffe_fpn_90k_coco-person2nonperson.py': (BASELINE_T1, 'person', 'person',
                                                       'person', 1),
    'owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco2lvis-noncoco.py': (OWP_T1, 'coco', 'lvis_coco',
                                                        'lvis_coco', 80),
    'fcos_r50-caffe_fpn_90k_coco2lvis-noncoco.py': (BASELINE_T1, 'coco', 'lvis_coco',
                                                   'lvis_coco', 80),
    'owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco2uvo.py': (OWP_T1, 'coco', 'all', 'none', 80),
    'fcos_r50-caffe_fpn_90k_coco2uvo.py': (BASELINE_T1, 'coco', 'all', 'none', 80),
}
#: what a benchmark config may change relative to its Table 1 config: split and data
ALLOWED = ('known_classes', 'lvis_root', 'lvis_val_ann', 'uvo_root', 'uvo_val_ann',
           'model.bbox_head.num_classes', 'train_dataloader.dataset.known_classes',
           'val_dataloader.dataset.', 'test_dataloader.dataset.', 'val_evaluator.',
           'test_evaluator.')


def test_benchmark_configs_are_listed():
    import glob
    assert sorted(osp.basename(p) for p in glob.glob(osp.join(BENCH, '*.py'))) == sorted(
        CONFIGS)


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_benchmark_config_changes_only_split_and_data(name):
    base_path, train_split, val_split, metric_split, num_classes = CONFIGS[name]
    cfg = Config.fromfile(osp.join(BENCH, name))
    base = Config.fromfile(base_path)
    assert cfg.model.bbox_head.num_classes == num_classes
    if train_split in ('person', 'coco'):
        assert len(resolve_classes(train_split)) == num_classes
    assert cfg.train_dataloader.dataset.known_classes == train_split
    assert cfg.train_dataloader.dataset.ann_file == base.train_dataloader.dataset.ann_file
    for loader in (cfg.val_dataloader, cfg.test_dataloader):
        assert loader.dataset.known_classes == val_split
    assert cfg.test_dataloader.to_dict() == cfg.val_dataloader.to_dict()
    for ev in (cfg.val_evaluator, cfg.test_evaluator):
        assert ev.type == 'OpenWorldCocoMetric' and ev.known_classes == metric_split
        assert tuple(ev.proposal_nums) == (10, 100)
        # proposals are class-agnostic; a COCO-trained baseline's labels are not LVIS's / UVO's
        agnostic = name.startswith('owp-') or metric_split != 'person'
        assert ev.get('class_agnostic') is (True if agnostic else None)
    assert cfg.test_evaluator.to_dict() == cfg.val_evaluator.to_dict()
    if 'lvis' in name:
        assert cfg.val_dataloader.dataset.type == 'OpenWorldLVISV1Dataset'
        assert cfg.val_evaluator.ann_file == cfg.val_dataloader.dataset.data_root + \
            cfg.val_dataloader.dataset.ann_file
    if 'uvo' in name:
        assert cfg.val_evaluator.ann_file.endswith('UVO_frame_val.json')
        assert cfg.val_evaluator.ann_file == cfg.val_dataloader.dataset.data_root + \
            cfg.val_dataloader.dataset.ann_file
    flat, flat_base = flat_config(cfg.to_dict()), flat_config(base.to_dict())
    changed = sorted(k for k in set(flat) | set(flat_base)
                     if flat.get(k, '<missing>') != flat_base.get(k, '<missing>'))
    assert changed, name
    assert [k for k in changed if not k.startswith(ALLOWED)] == []
    # and nothing of the model but the label count, nothing of the schedule
    assert cfg.optim_wrapper.to_dict() == base.optim_wrapper.to_dict()
    assert cfg.param_scheduler == base.param_scheduler
    assert cfg.train_cfg.to_dict() == base.train_cfg.to_dict()
