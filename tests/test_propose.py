"""Proposals on your own images: mmdet's DetInferencer with every toy config, and
tools/propose.py on an image, a folder (with unreadable files) and a COCO json."""
import glob
import json
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.apis import DetInferencer
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from pycocotools.coco import COCO

import mmowp  # noqa: F401
from mmowp.datasets.splits import resolve_classes

from ._helpers import load_tool
from .conftest import CONFIG_ROOT

TOY_CONFIGS = sorted(glob.glob(osp.join(CONFIG_ROOT, 'toy', '*.py')))
OWP = osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
OPEN_SET = osp.join(CONFIG_ROOT, 'toy',
                    'rba-open-set-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py')
FCOS = osp.join(CONFIG_ROOT, 'toy', 'fcos_r18_fpn_1500it_owd-shapes.py')
BASE = ('circle', 'square', 'triangle', 'star', 'cross')
NOVEL = ('hexagon', 'diamond', 'ellipse', 'arrow', 'lshape')
OWD_CATEGORIES = [dict(id=i + 1, name=n, split='base' if n in BASE else 'novel')
                  for i, n in enumerate(BASE + NOVEL)]


def _propose_module():
    """tools/propose.py as a module."""
    return load_tool('propose.py', 'mmowp_propose')


def _train_classes(cfg: Config) -> tuple:
    """The classes the config trains on (its ``known_classes``, resolved on the OWD-shapes
    categories), what the Runner saves in ``meta.dataset_meta``."""
    ds = cfg.train_dataloader.dataset
    while 'dataset' in ds:
        ds = ds.dataset
    return tuple(resolve_classes(ds.known_classes, OWD_CATEGORIES))


def _checkpoint(config: str, path: str, seed: int = 0) -> str:
    """Weights of the config's model (initialised, biases set so that every score mode
    gives boxes above its thresholds), saved as the Runner saves them
    (``meta.dataset_meta``, ``meta.cfg``)."""
    cfg = Config.fromfile(config)
    register_all_modules(init_default_scope=True)
    torch.manual_seed(seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # class logits ~0 (RbA's rejection ~1), objectness ~0.73
        model.bbox_head.conv_cls.bias.fill_(0.0)
        for name in ('conv_centerness', 'conv_iou'):
            conv = getattr(model.bbox_head, name, None)
            if conv is not None:
                conv.bias.fill_(1.0)
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=_train_classes(cfg)),
                              cfg=cfg.pretty_text)), path)
    return path


@pytest.fixture(scope='module')
def images(tmp_path_factory, tiny_owd) -> str:
    """A folder of the user's images: two generated ones (one 200x150 JPEG), one in a
    sub-folder, a text file, an empty and a truncated image."""
    d = tmp_path_factory.mktemp('my_images')
    rng = np.random.default_rng(0)
    img = cv2.imread(osp.join(tiny_owd, 'val', '000000.png'))
    cv2.imwrite(str(d / 'a.png'), img)
    big = cv2.resize(img, (200, 150)) + rng.integers(0, 20, (150, 200, 3), dtype=np.uint8)
    cv2.imwrite(str(d / 'b.jpg'), big)
    (d / 'sub').mkdir()
    cv2.imwrite(str(d / 'sub' / 'c.png'), cv2.imread(osp.join(tiny_owd, 'val', '000001.png')))
    (d / 'notes.txt').write_text('not an image')
    (d / 'empty.jpg').write_bytes(b'')
    data = (d / 'a.png').read_bytes()
    (d / 'truncated.png').write_bytes(data[:len(data) // 3])
    return str(d)


# ------------------------------------------------------------------ DetInferencer
@pytest.mark.parametrize('config', TOY_CONFIGS, ids=[osp.basename(c)[:-3] for c in TOY_CONFIGS])
def test_det_inferencer_runs_every_toy_config(config, images, tmp_path):
    ckpt = _checkpoint(config, str(tmp_path / 'model.pth'))
    inferencer = DetInferencer(model=config, weights=ckpt, device='cpu')
    files = [osp.join(images, 'a.png'), osp.join(images, 'b.jpg')]
    out = inferencer(files, out_dir=str(tmp_path / 'out'))
    cfg = Config.fromfile(config)
    trained = _train_classes(cfg)
    assert len(trained) == cfg.model.bbox_head.num_classes
    head = inferencer.model.bbox_head
    classes = inferencer.visualizer.dataset_meta['classes']
    if getattr(head, 'class_agnostic', False):
        assert classes == ('object', )
    elif cfg.model.bbox_head.get('unknown_score_mode'):
        assert classes == trained + ('unknown', )
    else:
        assert classes == trained
    assert inferencer.model.dataset_meta['classes'] == classes
    for pred, (h, w) in zip(out['predictions'], [(128, 128), (150, 200)]):
        assert pred['bboxes'], 'no boxes'
        assert set(pred['labels']) <= set(range(len(classes)))
        boxes = np.asarray(pred['bboxes'])
        assert (boxes[:, 0] >= -1).all() and (boxes[:, 2] <= w + 1).all()
        assert (boxes[:, 1] >= -1).all() and (boxes[:, 3] <= h + 1).all()
    assert sorted(os.listdir(tmp_path / 'out' / 'vis')) == ['a.png', 'b.jpg']


def test_det_inferencer_refuses_another_head_type(tmp_path):
    ckpt = _checkpoint(FCOS, str(tmp_path / 'fcos.pth'))
    with pytest.raises(ValueError, match=r'trained with bbox_head FCOSHead, the config '
                       r'builds OWPFCOSHead.*missing in the checkpoint: bbox_head.conv_iou'):
        DetInferencer(model=OWP, weights=ckpt, device='cpu')


# ---------------------------------------------------------------------- propose.py
@pytest.fixture(scope='module')
def owp_ckpt(tmp_path_factory) -> str:
    return _checkpoint(OWP, str(tmp_path_factory.mktemp('owp') / 'owp.pth'))


def test_propose_folder(images, owp_ckpt, tmp_path, capsys):
    propose = _propose_module()
    out = tmp_path / 'proposals.json'
    result = propose.main([OWP, owp_ckpt, images, '--out', str(out), '--show-dir',
                           str(tmp_path / 'show'), '--topk', '7'])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data['images'] == result['images']
    # sorted image files 1..N: a.png, b.jpg, empty.jpg, sub/c.png, truncated.png
    assert [(i['id'], i['file_name'], i['width'], i['height']) for i in data['images']] == [
        (1, 'a.png', 128, 128), (2, 'b.jpg', 200, 150), (4, 'sub/c.png', 128, 128)]
    assert data['categories'] == [dict(id=1, name='object')]
    skipped = {osp.basename(s['file']): s['reason'] for s in data['info']['skipped']}
    assert skipped == {'notes.txt': 'not an image file', 'empty.jpg': 'is empty (0 bytes)',
                       'truncated.png': 'cannot be decoded as an image'}
    assert 'skipped 3 file(s)' in printed and 'truncated.png: cannot be decoded' in printed
    assert '5/5' in printed  # the progress bar
    per_image = {}
    for a in data['annotations']:
        per_image.setdefault(a['image_id'], []).append(a)
        assert a['category_id'] == 1 and a['bbox'][2] >= 0 and a['bbox'][3] >= 0
    assert sorted(per_image) == [1, 2, 4] and all(len(v) == 7 for v in per_image.values())
    assert len({a['id'] for a in data['annotations']}) == 21
    drawn = sorted(osp.relpath(p, tmp_path / 'show')
                   for p in glob.glob(str(tmp_path / 'show' / '**' / '*.*'), recursive=True))
    assert drawn == ['a.png', 'b.jpg', osp.join('sub', 'c.png')]
    assert cv2.imread(str(tmp_path / 'show' / 'b.jpg')) is not None

    # parity: DetInferencer on the file (mmdet's own loading) gives the same top boxes
    inferencer = DetInferencer(model=OWP, weights=owp_ckpt, device='cpu')
    ref = inferencer(osp.join(images, 'b.jpg'))['predictions'][0]
    order = np.argsort(-np.asarray(ref['scores']), kind='stable')[:7]
    mine = per_image[2]
    for a, i in zip(mine, order):
        x1, y1, x2, y2 = ref['bboxes'][i]
        assert a['bbox'] == pytest.approx([x1, y1, x2 - x1, y2 - y1], abs=0.011)
        assert a['score'] == pytest.approx(ref['scores'][i], abs=1e-5)


def test_propose_coco_json_known_and_unknown(tiny_owd, tmp_path):
    """An RbA open-set model: base classes with the json's ids plus ``unknown``; the
    annotations are a results list pycocotools loads against the input json."""
    propose = _propose_module()
    ckpt = _checkpoint(OPEN_SET, str(tmp_path / 'open_set.pth'))
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    out = tmp_path / 'p.json'
    propose.main([OPEN_SET, ckpt, ann, '--out', str(out), '--topk', '5'])
    data = json.loads(out.read_text())
    gt = COCO(ann)
    assert [i['id'] for i in data['images']] == sorted(gt.getImgIds())
    by_name = {c['name']: c['id'] for c in gt.loadCats(gt.getCatIds())}
    cats = {c['name']: c['id'] for c in data['categories']}
    assert list(cats) == list(BASE) + ['unknown']
    assert all(cats[n] == by_name[n] for n in BASE)
    assert cats['unknown'] == max(by_name.values()) + 1
    assert data['annotations'] and {a['category_id'] for a in data['annotations']} <= set(
        cats.values())
    dt = gt.loadRes(data['annotations'])
    assert len(dt.getAnnIds()) == len(data['annotations'])


def test_propose_single_image_and_refusal(images, owp_ckpt, tmp_path):
    propose = _propose_module()
    out = tmp_path / 'one.json'
    propose.main([OWP, owp_ckpt, osp.join(images, 'b.jpg'), '--out', str(out), '--topk',
                  '3'])
    data = json.loads(out.read_text())
    assert [i['file_name'] for i in data['images']] == ['b.jpg']
    assert len(data['annotations']) == 3
    fcos = _checkpoint(FCOS, str(tmp_path / 'fcos.pth'))
    with pytest.raises(ValueError, match='does not fit the model of this config'):
        propose.main([OWP, fcos, osp.join(images, 'b.jpg'), '--out', str(tmp_path / 'x.json')])
    assert not (tmp_path / 'x.json').exists()
    with pytest.raises(FileNotFoundError, match="INPUT '.*nothing' does not exist"):
        propose.main([OWP, owp_ckpt, str(tmp_path / 'nothing')])
