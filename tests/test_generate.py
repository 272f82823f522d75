import hashlib
import json
import os
import os.path as osp

import numpy as np
import pytest
from pycocotools.coco import COCO

from mmowp.datasets.generate import ALL_CLASSES, GeneratorConfig, annotation_files, generate, main
from mmowp.utils import lvis_numpy_shim


def _digest(root: str) -> dict:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in sorted(files):
            p = osp.join(dirpath, f)
            with open(p, 'rb') as fh:
                out[osp.relpath(p, root)] = hashlib.md5(fh.read()).hexdigest()
    return out


def test_deterministic_for_a_seed(tmp_path):
    cfg = dict(num_train=5, num_val=3)
    a = generate(str(tmp_path / 'a'), GeneratorConfig(seed=1, **cfg))
    b = generate(str(tmp_path / 'b'), GeneratorConfig(seed=1, **cfg))
    c = generate(str(tmp_path / 'c'), GeneratorConfig(seed=2, **cfg))
    assert _digest(a) == _digest(b)
    da, dc = _digest(a), _digest(c)
    assert da.keys() == dc.keys()
    assert da['annotations/instances_val.json'] != dc['annotations/instances_val.json']


def test_loads_in_pycocotools_and_lvis(tiny_owd):
    files = annotation_files(tiny_owd)
    for key in ('train', 'train_all', 'val'):
        coco = COCO(files[key])
        assert len(coco.getImgIds()) > 0
        for img in coco.dataset['images']:
            assert osp.isfile(osp.join(tiny_owd, img['file_name']))
    with lvis_numpy_shim():
        from lvis import LVIS
        for key in ('lvis_train', 'lvis_val'):
            lvis = LVIS(files[key])
            assert set(lvis.cats) == set(range(1, len(ALL_CLASSES) + 1))
            assert {c['frequency'] for c in lvis.dataset['categories']} <= {'r', 'c', 'f'}
            for img in lvis.dataset['images']:
                present = {a['category_id'] for a in lvis.img_ann_map[img['id']]}
                assert not present & set(img['neg_category_ids'])


def test_novel_objects_unannotated_in_train_but_present_in_val(tiny_owd):
    files = annotation_files(tiny_owd)
    train, train_all, val = (json.load(open(files[k])) for k in ('train', 'train_all', 'val'))
    split = {c['id']: c['split'] for c in val['categories']}
    assert {split[a['category_id']] for a in train['annotations']} == {'base'}
    assert 'novel' in {split[a['category_id']] for a in train_all['annotations']}
    assert {'base', 'novel'} <= {split[a['category_id']] for a in val['annotations']}
    # the training json lists exactly the base subset of the full training annotations
    base_all = [a for a in train_all['annotations'] if split[a['category_id']] == 'base']
    assert train['annotations'] == base_all
    assert train['images'] == train_all['images']


def test_boxes_describe_visible_pixels(tiny_owd):
    import pycocotools.mask as mask_utils
    val = json.load(open(annotation_files(tiny_owd)['val']))
    for ann in val['annotations']:
        m = mask_utils.decode(ann['segmentation'])
        ys, xs = np.nonzero(m)
        x, y, w, h = ann['bbox']
        assert (x, y, x + w - 1, y + h - 1) == (xs.min(), ys.min(), xs.max(), ys.max())
        assert ann['area'] == m.sum() > 0


def test_refuses_to_overwrite_a_different_dataset(tmp_path):
    out = str(tmp_path / 'd')
    generate(out, GeneratorConfig(num_train=2, num_val=1))
    before = _digest(out)
    generate(out, GeneratorConfig(num_train=2, num_val=1))  # same parameters: reused
    assert _digest(out) == before
    with pytest.raises(FileExistsError, match='num_train'):
        generate(out, GeneratorConfig(num_train=3, num_val=1))
    assert _digest(out) == before
    generate(out, GeneratorConfig(num_train=3, num_val=1), overwrite=True)
    assert len(json.load(open(annotation_files(out)['train']))['images']) == 3


def test_never_writes_into_a_foreign_folder(tmp_path):
    (tmp_path / 'mine.txt').write_text('user data')
    with pytest.raises(FileExistsError, match='not a generated dataset'):
        generate(str(tmp_path), GeneratorConfig(num_train=1, num_val=1), overwrite=True)
    assert (tmp_path / 'mine.txt').read_text() == 'user data'
    assert sorted(os.listdir(tmp_path)) == ['mine.txt']


@pytest.mark.parametrize('kwargs,match', [
    (dict(base_classes=['circle', 'blob']), 'blob'),
    (dict(base_classes=['circle'], novel_classes=['circle']), 'both base and novel'),
    (dict(min_objects=3, max_objects=2), 'min_objects'),
])
def test_bad_parameters_are_named(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        generate(str(tmp_path / 'x'), GeneratorConfig(num_train=1, num_val=1, **kwargs))


def test_cli(tmp_path, capsys):
    out = str(tmp_path / 'cli')
    main([out, '--num-train', '2', '--num-val', '1', '--seed', '5'])
    assert 'ready' in capsys.readouterr().out
    meta = json.load(open(osp.join(out, 'meta.json')))
    assert (meta['num_train'], meta['num_val'], meta['seed']) == (2, 1, 5)


def _polygons(shape, n=300, seed=0):
    from mmowp.datasets.generate import _place_polygon
    rng = np.random.default_rng(seed)
    cfg = GeneratorConfig(min_size=30, max_size=60, image_size=128)
    return [_place_polygon(rng, shape, cfg) for _ in range(n)]


def _interior_angles(pts):
    """Interior angles (degrees) of a convex polygon given in order."""
    prev, nxt = np.roll(pts, 1, 0) - pts, np.roll(pts, -1, 0) - pts
    cos = (prev * nxt).sum(1) / np.linalg.norm(prev, axis=1) / np.linalg.norm(nxt, axis=1)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))


def _principal_aspect(pts):
    """Ratio of the longer to the shorter principal axis of a point set (rotation-free)."""
    ev = np.linalg.eigvalsh(np.cov((pts - pts.mean(0)).T))
    return float(np.sqrt(ev[1] / ev[0]))


def test_base_and_novel_shapes_are_distinct_drawings():
    """No drawing of a base class is also a drawing of a novel class (issue: a base circle of
    aspect 0.5-2 was a novel ellipse, a stretched, turned square a diamond)."""
    circles = [_principal_aspect(p) for p in _polygons('circle')]
    ellipses = [_principal_aspect(p) for p in _polygons('ellipse')]
    assert max(circles) <= 1.12 and min(ellipses) >= 1.95
    # a square keeps right angles; a diamond (lozenge) has two angles <= 61 degrees
    for p in _polygons('square'):
        assert np.allclose(_interior_angles(p), 90.0, atol=1e-6)
    for p in _polygons('diamond'):
        assert np.sort(_interior_angles(p))[:2].max() <= 61.5
    # hexagons are not stretched into ellipse-like drawings
    assert max(_principal_aspect(p) for p in _polygons('hexagon')) <= 1.55


def test_every_class_has_a_geometry():
    from mmowp.datasets.generate import SHAPE_GEOMETRY
    assert set(SHAPE_GEOMETRY) == set(ALL_CLASSES)
