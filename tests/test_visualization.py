"""Analysis pictures: the numbers behind them (merged maps, box kinds, curves, report)."""
import json
import os.path as osp

import numpy as np
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData

import mmowp  # noqa: F401
from mmowp.visualization import OpenWorldDetLocalVisualizer, configure_visualizer, merge_levels
from mmowp.visualization.ar_curve import load_curve, plot_ar_curves
from mmowp.visualization.report import write_report

from .conftest import CONFIG_ROOT


def test_merge_levels_is_max_of_nearest_upsampled_levels():
    p3 = np.array([[0.1, 0.2, 0.0, 0.0], [0.0, 0.0, 0.0, 0.9], [0, 0, 0, 0], [0, 0, 0, 0]],
                  np.float32)
    p4 = np.array([[0.5, 0.0], [0.0, 0.3]], np.float32)
    want = np.array([[0.5, 0.5, 0.0, 0.0], [0.5, 0.5, 0.0, 0.9], [0, 0, 0.3, 0.3],
                     [0, 0, 0.3, 0.3]], np.float32)
    np.testing.assert_array_equal(merge_levels([p3, p4]), want)


def _vis(tmp_path, ann_file=None, **kw):
    vis = OpenWorldDetLocalVisualizer(name=f'v{tmp_path.name}{len(kw)}', ann_file=ann_file,
                                      min_size=0, **kw)
    vis.dataset_meta = dict(classes=('circle', 'square'))
    return vis


def test_kinds_known_novel_other(tmp_path):
    vis = _vis(tmp_path)
    known = np.array([[0, 0, 10, 10]], np.float32)
    novel = np.array([[20, 20, 40, 40]], np.float32)
    pred = np.array([[0, 0, 10, 11], [21, 21, 40, 40], [50, 50, 60, 60], [0, 0, 30, 30]],
                    np.float32)
    # IoUs: 0.91 known; 0.90 novel; nothing; 0.11 known / 0.16 novel -> other
    assert vis.kinds(pred, known, novel) == ['known', 'novel', 'other', 'other']
    assert vis._label_texts([0, 2], [0.5, 0.25]) == ['circle 50', 'unknown 25']
    vis.class_agnostic = True
    assert vis._label_texts([0], [0.5]) == ['object 50']


def test_add_datasample_draws_both_panels_with_novel_gt(tmp_path):
    ann = tmp_path / 'ann.json'
    ann.write_text(json.dumps(dict(
        images=[dict(id=7, file_name='x.png', width=32, height=32)],
        categories=[dict(id=1, name='circle'), dict(id=2, name='square'),
                    dict(id=3, name='hexagon')],
        annotations=[dict(id=1, image_id=7, category_id=3, bbox=[16, 16, 10, 10], area=100,
                          iscrowd=0)])))
    vis = _vis(tmp_path, str(ann))
    np.testing.assert_array_equal(vis.novel_gt(7), [[16, 16, 26, 26]])
    sample = DetDataSample(metainfo=dict(img_id=7))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[2., 2., 12., 12.]]),
                                       labels=torch.tensor([0]))
    sample.pred_instances = InstanceData(bboxes=torch.tensor([[16., 16., 26., 26.]]),
                                         scores=torch.tensor([0.9]), labels=torch.tensor([0]))
    img = np.zeros((32, 32, 3), np.uint8)
    out = str(tmp_path / 'o.png')
    vis.add_datasample('x', img, sample, out_file=out, pred_score_thr=0.3)
    drawn = vis.get_image()
    assert drawn.shape == (32, 64, 3)
    # the prediction on the novel object is drawn in the 'novel' colour (magenta)
    magenta = (drawn[..., 0] > 150) & (drawn[..., 1] < 100) & (drawn[..., 2] > 150)
    assert magenta[:, 32:].any() and magenta[:, :32].any() and osp.isfile(out)


def test_configure_visualizer_from_config():
    cfg = Config.fromfile(
        osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py'))
    assert cfg.visualizer.type == 'OpenWorldDetLocalVisualizer'
    configure_visualizer(cfg)
    assert cfg.visualizer.ann_file == cfg.test_evaluator.ann_file
    # class_agnostic is left to the model (ClassAgnosticFromModelHook)
    assert cfg.visualizer.get('class_agnostic') is None


def _metrics_json(path, novel, base):
    k = list(range(1, 101))
    path.write_text(json.dumps(dict(
        metrics={'novel_AR@10': novel[9], 'novel_AR@100': novel[99], 'base_AR@10': base[9],
                 'base_AR@100': base[99], 'base_AP': -1.0},
        ar_vs_proposals=dict(k=k, novel=novel, base=base), known_classes=['a'],
        novel_classes=['b'], exclude_known_from_budget=True, ann_file='x.json')))
    return str(path)


def test_ar_curves_and_report(tmp_path):
    curve = list(np.linspace(0.01, 0.3, 100))
    run = tmp_path / 'run' / '20260101_000000'
    run.mkdir(parents=True)
    path = _metrics_json(run / 'open_world_metrics.json', curve, curve[::-1])
    out = plot_ar_curves([('a', path), ('b', str(tmp_path / 'run'))], str(tmp_path / 'c.png'))
    assert osp.getsize(out) > 1000
    (tmp_path / 'bad.json').write_text('{"metrics": {}}')
    with pytest.raises(ValueError, match='bad.json: no "ar_vs_proposals"'):
        load_curve(str(tmp_path / 'bad.json'))
    md, page = write_report(str(tmp_path / 'run'))
    text = open(md).read()
    assert '| base AP | base AR@10 | base AR@100 | novel AR@10 | novel AR@100 |' in text
    base = curve[::-1]
    row = [100 * v for v in (base[9], base[99], curve[9], curve[99])]
    assert '| N/A | ' + ' | '.join(f'{v:.2f}' for v in row) + ' |' in text
    assert '<table>' in open(page).read()
