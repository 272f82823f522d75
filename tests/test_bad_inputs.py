"""What a user gets wrong, and what they are told. Each case asserts the message (it names
the file, record id or key), or the documented skip (a warning with a count, and the
record really is skipped); no case modifies the user's files on disk.

Cases (32): images (missing, corrupt, empty), annotation json (not json, missing top-level
key, missing record keys, wrong types, NaN box, zero / negative size boxes, boxes outside
or partly outside the image, duplicate annotation / image ids, dangling image / category
ids), categories and splits (class not in the json, unknown split name, bad ``split``
field, a split leaving no novel GT), configs (unregistered type, misspelt head key, wrong
value, misspelt loop key), predictions (NaN score, inf box, unknown image id) and
checkpoints (different head, different number of classes, missing file; in process and
through ``tools/test.py``).
"""
import copy
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.runner import Runner

import mmowp  # noqa: F401
from mmowp.datasets.transforms import ImageDecodeError
from mmowp.evaluation import OpenWorldCocoMetric
from mmowp.utils.checkpoint import check_checkpoint_compatible
from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT, REPO_ROOT

OWP = osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
FCOS = osp.join(CONFIG_ROOT, 'toy', 'fcos_r18_fpn_1500it_owd-shapes.py')
VAL = 'annotations/instances_val.json'


def _hashes(root: str) -> dict:
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            with open(osp.join(d, f), 'rb') as fh:
                out[osp.relpath(osp.join(d, f), root)] = hashlib.sha256(fh.read()).hexdigest()
    return out


@pytest.fixture()
def user_data(tiny_owd, tmp_path):
    """A copy of the tiny dataset as 'the user's files'; a test breaks it, then calls
    ``freeze()``; at teardown nothing may have changed since then."""
    root = str(tmp_path / 'user_data')
    shutil.copytree(tiny_owd, root)
    state = {}

    class Data:
        path = root

        @staticmethod
        def ann() -> dict:
            with open(osp.join(root, VAL)) as f:
                return json.load(f)

        @staticmethod
        def write_ann(data: dict, name: str = VAL) -> str:
            path = osp.join(root, name)
            with open(path, 'w') as f:
                json.dump(data, f)
            return path

        @staticmethod
        def freeze() -> None:
            state['hashes'] = _hashes(root)

    yield Data
    if 'hashes' in state:
        assert _hashes(root) == state['hashes'], 'a user file was modified'


def _dataset_cfg(root: str, ann_file: str = VAL, **kwargs) -> dict:
    cfg = Config.fromfile(OWP)
    apply_data_root(cfg, root)
    ds = copy.deepcopy(cfg.val_dataloader.dataset)
    ds.ann_file = ann_file
    ds.update(kwargs)
    return ds


def _build(root: str, **kwargs):
    register_all_modules(init_default_scope=True)
    return DATASETS.build(_dataset_cfg(root, **kwargs))


# ---------------------------------------------------------------- images
def test_missing_image_file_named_at_build(user_data):
    path = osp.join(user_data.path, 'val', '000002.png')
    os.remove(path)
    user_data.freeze()
    with pytest.raises(FileNotFoundError, match=r'1 of 6 image files are missing or empty: '
                       + path + r' \(image id \d+\)'):
        _build(user_data.path)


def test_empty_image_file_named_at_build(user_data):
    path = osp.join(user_data.path, 'val', '000001.png')
    open(path, 'wb').close()
    user_data.freeze()
    with pytest.raises(FileNotFoundError, match=path):
        _build(user_data.path)


def test_corrupt_image_named_when_loaded(user_data):
    path = osp.join(user_data.path, 'val', '000000.png')
    with open(path, 'wb') as f:
        f.write(b'not a png' * 20)
    user_data.freeze()
    ds = _build(user_data.path)
    idx = [i for i in range(len(ds)) if ds.get_data_info(i)['img_path'] == path][0]
    with pytest.raises(ImageDecodeError,
                       match=f'failed to load image: {path} ' + r'\(image id \d+\)'):
        ds[idx]


# ---------------------------------------------------------------- annotation json
def _broken(user_data, edit) -> str:
    data = user_data.ann()
    edit(data)
    user_data.write_ann(data, 'annotations/broken.json')
    user_data.freeze()
    return 'annotations/broken.json'


def _ann0(data):
    return data['annotations'][0]


@pytest.mark.parametrize('edit, message', [
    (lambda d: d.pop('annotations'), r"broken.json: no 'annotations' key at the top level"),
    (lambda d: _ann0(d).pop('bbox'), r"broken.json: annotation \d+ has no 'bbox' key"),
    (lambda d: _ann0(d).pop('area'), r"broken.json: annotation \d+ has no 'area' key"),
    (lambda d: d['images'][1].pop('file_name'), r"broken.json: image \d+ has no 'file_name'"),
    (lambda d: _ann0(d).update(bbox='10,10,5,5'),
     r"broken.json: annotation \d+: 'bbox' must be list, got str '10,10,5,5'"),
    (lambda d: _ann0(d).update(image_id=str(_ann0(d)['image_id'])),
     r"broken.json: annotation \d+: 'image_id' must be int, got str"),
    (lambda d: _ann0(d).update(bbox=[1.0, float('nan'), 4.0, 4.0]),
     r'broken.json: annotation \d+: "bbox" must be 4 finite numbers'),
    (lambda d: d['annotations'][1].update(id=_ann0(d)['id']),
     r'broken.json: duplicate annotation ids \[\d+\]'),
    (lambda d: d['images'][1].update(id=d['images'][0]['id']),
     r'broken.json: duplicate image ids \[\d+\]'),
    (lambda d: _ann0(d).update(image_id=987654),
     r'broken.json: annotation \d+ refers to image_id 987654, which is not in "images"'),
    (lambda d: _ann0(d).update(category_id=777),
     r'broken.json: annotation \d+ refers to category_id 777'),
    (lambda d: d['categories'][2].update(split='unseen'),
     r"broken.json: category 'triangle' \(id \d+\) has split 'unseen', not one of"),
], ids=['no-annotations', 'no-bbox', 'no-area', 'no-file_name', 'bbox-str', 'image_id-str',
        'bbox-nan', 'dup-ann-id', 'dup-image-id', 'dangling-image', 'dangling-category',
        'bad-split-field'])
def test_malformed_annotation_json_names_file_record_and_key(user_data, edit, message):
    ann = _broken(user_data, edit)
    with pytest.raises(ValueError, match=message):
        _build(user_data.path, ann_file=ann)


def test_not_json(user_data):
    with open(osp.join(user_data.path, 'annotations/broken.json'), 'w') as f:
        f.write('{"images": [')
    user_data.freeze()
    with pytest.raises(ValueError, match='broken.json: not a valid json file'):
        _build(user_data.path, ann_file='annotations/broken.json')


def _base_ann_ids(data) -> list:
    base = {c['id'] for c in data['categories'] if c['split'] == 'base'}
    return [a['id'] for a in data['annotations'] if a['category_id'] in base]


@pytest.mark.parametrize('bbox, message, skipped', [
    ([5.0, 5.0, 0.0, 10.0], 'have a box with zero or negative size', True),
    ([30.0, 30.0, -8.0, 10.0], 'have a box with zero or negative size', True),
    ([500.0, 500.0, 10.0, 10.0], 'have a box entirely outside its image', True),
    ([120.0, 120.0, 20.0, 20.0], 'have a box that extends beyond its image', False),
], ids=['zero-size', 'negative-size', 'outside', 'partly-outside'])
def test_degenerate_boxes_are_counted_and_skipped(user_data, bbox, message, skipped):
    ids = []

    def edit(data):
        for a in data['annotations']:
            if a['id'] in _base_ann_ids(data)[:2]:
                a['bbox'] = list(bbox)
                a['area'] = max(bbox[2] * bbox[3], 0.0) if bbox[2] > 0 else 0.0
                ids.append(a['id'])
    ann = _broken(user_data, edit)
    with pytest.warns(UserWarning, match=rf'broken.json: 2 of \d+ annotations {message}.* '
                      rf'\(annotation ids \[{ids[0]}, {ids[1]}\]\); they are '
                      rf'{"skipped" if skipped else "kept as given"}'):
        ds = _build(user_data.path, ann_file=ann)
    boxes = [inst['bbox'] for i in range(len(ds)) for inst in ds.get_data_info(i)['instances']]
    x, y, w, h = bbox
    present = [b for b in boxes if np.allclose(b, [x, y, x + w, y + h])]
    assert (len(present) == 0) == skipped


# ---------------------------------------------------------------- categories and splits
def test_class_not_in_annotation_file(user_data):
    user_data.freeze()
    with pytest.raises(ValueError, match=r"category names \['pentagon'\] are not in .*"
                       r'instances_val.json'):
        _build(user_data.path, known_classes=['circle', 'pentagon'])


def test_unknown_split_name(user_data):
    user_data.freeze()
    with pytest.raises(ValueError, match=r"unknown split 'vocc'; valid splits"):
        _build(user_data.path, known_classes='vocc')


def test_split_leaving_no_novel_gt(user_data):
    data = user_data.ann()
    data['categories'].append(dict(id=99, name='pentagon', split='novel'))
    path = user_data.write_ann(data, 'annotations/extra_category.json')
    user_data.freeze()
    metric = OpenWorldCocoMetric(ann_file=path, known_classes='owd_base',
                                 novel_classes=['pentagon'])
    metric.dataset_meta = dict(classes=metric.known_names)
    with pytest.raises(ValueError, match=r"no annotation of the novel classes \['pentagon'\] "
                       r'in .*extra_category.json: novel recall is undefined'):
        metric.evaluate_predictions([])


# ---------------------------------------------------------------- configs
def _model_cfg(**head):
    cfg = Config.fromfile(OWP)
    cfg.model.bbox_head.update(head)
    return cfg.model


def test_config_unregistered_type():
    register_all_modules(init_default_scope=True)
    with pytest.raises(KeyError, match='OWPFCOSHeadd is not in the mmdet::model registry'):
        MODELS.build(_model_cfg(type='OWPFCOSHeadd'))


def test_config_misspelt_head_key():
    register_all_modules(init_default_scope=True)
    with pytest.raises(TypeError, match="unexpected keyword argument 'objectnes'"):
        MODELS.build(_model_cfg(objectnes=('iou', )))


def test_config_wrong_value():
    register_all_modules(init_default_scope=True)
    with pytest.raises(ValueError, match=r"objectness must be a non-empty subset of "
                       r"\('centerness', 'iou'\), got \('iuo',\)"):
        MODELS.build(_model_cfg(objectness=('iuo', )))


def test_config_misspelt_loop_key(user_data, tmp_path):
    user_data.freeze()
    cfg = Config.fromfile(OWP)
    apply_data_root(cfg, user_data.path)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.train_cfg.max_iter = 2  # max_iters
    with pytest.raises(TypeError, match="unexpected keyword argument 'max_iter'"):
        Runner.from_cfg(cfg).train()


# ---------------------------------------------------------------- predictions
def _metric(user_data) -> OpenWorldCocoMetric:
    m = OpenWorldCocoMetric(ann_file=osp.join(user_data.path, VAL), known_classes='owd_base')
    m.dataset_meta = dict(classes=m.known_names)
    return m


def _preds(data, **bad) -> list:
    preds = [dict(img_id=img['id'], bboxes=np.array([[1., 1., 20., 20.]], np.float32),
                  scores=np.array([0.5], np.float32), labels=np.array([0]))
             for img in data['images']]
    preds[1].update(bad)
    return preds


@pytest.mark.parametrize('bad, message', [
    (dict(scores=np.array([np.nan], np.float32)), r'image \d+\b.*NaN or inf in predicted'),
    (dict(bboxes=np.array([[1., 1., np.inf, 20.]], np.float32)),
     r'image \d+\b.*NaN or inf in predicted'),
    (dict(img_id=424242), r'predictions for image ids \[424242\]'),
], ids=['nan-score', 'inf-box', 'unknown-image'])
def test_bad_predictions(user_data, bad, message):
    user_data.freeze()
    data = user_data.ann()
    preds = _preds(data, **bad)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        with pytest.raises(ValueError, match=message) as e:
            _metric(user_data).evaluate_predictions(preds)
    if 'img_id' not in bad:
        assert str(data['images'][1]['id']) in str(e.value)


# ---------------------------------------------------------------- checkpoints
@pytest.fixture(scope='module')
def fcos_ckpt(tmp_path_factory) -> str:
    """A checkpoint of the plain FCOS toy model (FCOSHead), saved as MMEngine does."""
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(FCOS)
    model = MODELS.build(cfg.model)
    path = str(tmp_path_factory.mktemp('ckpt') / 'fcos_toy.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict(cfg=cfg.pretty_text)), path)
    return path


def test_checkpoint_from_another_head(fcos_ckpt):
    register_all_modules(init_default_scope=True)
    model = MODELS.build(_model_cfg())
    before = _hashes(osp.dirname(fcos_ckpt))
    with pytest.raises(ValueError, match=r'checkpoint .*fcos_toy.pth does not fit the model of '
                       r'this config \(it was trained with bbox_head FCOSHead, the config '
                       r'builds OWPFCOSHead\); missing in the checkpoint: bbox_head.conv_iou'):
        check_checkpoint_compatible(model, fcos_ckpt)
    assert _hashes(osp.dirname(fcos_ckpt)) == before


def test_checkpoint_with_other_num_classes(tmp_path):
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(OWP)
    cfg.model.bbox_head.num_classes = 3
    path = str(tmp_path / 'three.pth')
    torch.save(dict(state_dict=MODELS.build(cfg.model).state_dict()), path)
    with pytest.raises(ValueError, match=r'shape mismatch: bbox_head.conv_cls.weight '
                       r'\(3, 64, 3, 3\) vs model \(5, 64, 3, 3\)'):
        check_checkpoint_compatible(MODELS.build(_model_cfg()), path)


def test_tools_test_refuses_another_heads_checkpoint(fcos_ckpt, user_data, tmp_path):
    user_data.freeze()
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, OMP_NUM_THREADS='1')
    base = [sys.executable, 'tools/test.py', OWP]
    opts = ['--work-dir', str(tmp_path / 'w'), '--cfg-options', f'data_root={user_data.path}/']
    out = subprocess.run(base + [fcos_ckpt] + opts, cwd=REPO_ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode != 0
    assert 'ValueError: checkpoint' in out.stderr and 'bbox_head FCOSHead' in out.stderr
    assert 'Open-world evaluation' not in out.stdout + out.stderr  # nothing was evaluated
    missing = str(tmp_path / 'nope.pth')
    out = subprocess.run(base + [missing] + opts, cwd=REPO_ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode != 0 and f"checkpoint '{missing}' does not exist" in out.stderr
