"""Analysis tools on mmowp runs: a quiet console, mmdet's own tools and options
(browse_dataset, analyze_logs, --auto-scale-lr, --show, --tta), objectness maps with the
novel ground truth and titles that do not overlap, report --out, score histograms named
after the run. Every run here is tiny (2 iterations of the toy model on generated data)."""
import glob
import io
import json
import logging
import os
import os.path as osp
import pickle
import subprocess
import sys
import warnings
from unittest import mock

import numpy as np
import pytest
import torch
from mmengine.logging import MMLogger
from mmengine.structures import InstanceData
from mmengine.utils import get_installed_path

from mmowp.utils.console import ConsoleFilter, install_warning_filters, quiet_console

from .conftest import CONFIG_ROOT, REPO_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
MMDET_TOOLS = osp.join(get_installed_path('mmdet'), '.mim', 'tools', 'analysis_tools')


def _run(cmd, cwd, timeout=900, **env):
    full_env = dict(os.environ, MPLBACKEND='Agg', PYTHONPATH=REPO_ROOT, **env)
    out = subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out


@pytest.fixture(scope='module')
def toy_run(tiny_owd, tmp_path_factory):
    """tools/train.py on the toy IoU-CS-IS config: 2 iterations, --auto-scale-lr."""
    work = str(tmp_path_factory.mktemp('toy_run'))
    out = _run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), TOY,
                '--work-dir', work, '--auto-scale-lr', '--cfg-options',
                f'data_root={tiny_owd}', 'train_cfg.max_iters=2', 'train_cfg.val_interval=2',
                'default_hooks.logger.interval=1', 'default_hooks.checkpoint.interval=2'],
               cwd=work)
    return dict(work_dir=work, stdout=out.stdout, stderr=out.stderr, data_root=tiny_owd,
                checkpoint=osp.join(work, 'iter_2.pth'),
                log=glob.glob(osp.join(work, '*', '*.log'))[0],
                scalars=glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json'))[0])


# --------------------------------------------------------------------------- console
def test_console_filter_collapses_series_and_keeps_the_log_file(tmp_path, capsys):
    log_file = str(tmp_path / 'run.log')
    logger = MMLogger.get_instance('test_console_filter', log_file=log_file)
    filters = quiet_console(logger)
    assert len(filters) == 1 and quiet_console(logger) == filters  # attached once
    frozen = [f'bbox_head.cls_convs.{i}.conv.weight' for i in range(5)]
    for name in frozen:
        logger.warning(f'{name} is skipped since its requires_grad=False')
    for i in range(3):
        logger.info(f'paramwise_options -- neck.fpn_convs.{i}.conv.bias:lr=0.02')
    logger.warning('"FileClient" will be deprecated in future. Please use io functions')
    logger.warning('"HardDiskBackend" is the alias of "LocalBackend" and the former will be')
    logger.info('Iter(train) [1/2] loss: 1.0')
    logger.warning('something the user must see')
    for h in logger.handlers:
        h.flush()
    console = capsys.readouterr().out.splitlines()
    assert len(console) == 4, console
    assert 'requires_grad=False' in console[0] and frozen[0] in console[0]
    assert log_file in console[0] and 'WARNING' in console[0]
    assert 'paramwise_cfg' in console[1] and 'neck.fpn_convs.0.conv.bias' in console[1]
    assert console[2].endswith('Iter(train) [1/2] loss: 1.0')
    assert console[3].endswith('something the user must see')
    assert filters[0].counts == [5, 3]
    text = open(log_file).read()
    for name in frozen:  # the file keeps every record
        assert f'{name} is skipped since its requires_grad=False' in text
    assert text.count('paramwise_options --') == 3 and 'FileClient' in text
    for h in list(logger.handlers):
        h.close()


def test_console_filter_passes_unrelated_records():
    handler = logging.StreamHandler(io.StringIO())
    f = ConsoleFilter(handler)
    rec = logging.LogRecord('x', logging.WARNING, __file__, 1, 'weights %s skipped', ('a', ),
                            None)
    assert f.filter(rec)


def test_warning_filters_are_targeted():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter('always')
        install_warning_filters()
        warnings.warn('pkg_resources is deprecated as an API. See https://...', UserWarning)
        warnings.warn('torch.meshgrid: in an upcoming release, it will be required to pass '
                      'the indexing argument.', UserWarning)
        warnings.warn('another warning', UserWarning)
        warnings.warn('pkg_resources is deprecated as an API', DeprecationWarning)
    assert [str(w.message) for w in seen] == ['another warning',
                                              'pkg_resources is deprecated as an API']


def test_train_console_is_quiet_and_auto_scale_lr_applies(toy_run):
    out, err = toy_run['stdout'], toy_run['stderr']
    both = out + err
    for noise in ('is skipped since its requires_grad=False', 'paramwise_options --',
                  'pkg_resources is deprecated', 'torch.meshgrid', '"FileClient"'):
        assert noise not in both, noise
    assert sum('requires_grad=False (frozen by the config)' in line
               for line in out.splitlines()) == 1
    assert sum('paramwise_cfg sets lr' in line for line in out.splitlines()) == 1
    log = open(toy_run['log']).read()
    assert 'bbox_head.conv_cls.weight is skipped since its requires_grad=False' in log
    assert 'paramwise_options --' in log
    # mmengine's config dump stays (governed by log_level, as in any MMEngine run)
    assert 'Config:' in out
    # --auto-scale-lr: toy batch 8, auto_scale_lr.base_batch_size 16
    assert 'base_batch_size' in log
    assert 'Scaling the original LR by 0.5' in out


def test_auto_scale_lr_without_base_batch_size_is_refused(tmp_path, tiny_owd):
    cfg = tmp_path / 'no_auto_scale.py'
    cfg.write_text(f"_base_ = '{TOY}'\nauto_scale_lr = dict(_delete_=True, enable=False)\n")
    out = subprocess.run([sys.executable, osp.join(REPO_ROOT, 'tools', 'train.py'), str(cfg),
                          '--auto-scale-lr', '--work-dir', str(tmp_path / 'w'),
                          '--cfg-options', f'data_root={tiny_owd}'],
                         capture_output=True, text=True, timeout=300,
                         env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert out.returncode != 0
    assert 'auto_scale_lr.base_batch_size' in out.stderr


# --------------------------------------------------------------------------- mmdet tools
def test_mmdet_analyze_logs_plots_an_mmowp_run(toy_run, tmp_path):
    import seaborn  # noqa: F401  (the analysis extra: requirements/analysis.txt)
    png = str(tmp_path / 'losses.png')
    out = _run([sys.executable, osp.join(MMDET_TOOLS, 'analyze_logs.py'), 'plot_curve',
                toy_run['scalars'], '--keys', 'loss', 'loss_iou', '--out', png], cwd=tmp_path)
    assert 'save curve to' in out.stdout and osp.getsize(png) > 1000


def test_mmdet_browse_dataset_draws_class_names(tiny_owd, tmp_path):
    out_dir = tmp_path / 'browse'
    _run([sys.executable, osp.join(MMDET_TOOLS, 'browse_dataset.py'), TOY, '--output-dir',
          str(out_dir), '--not-show', '--cfg-options',
          f'train_dataloader.dataset.data_root={tiny_owd}/'], cwd=tmp_path)
    with open(osp.join(tiny_owd, 'annotations', 'instances_train.json')) as f:
        train = json.load(f)
    with_gt = {a['image_id'] for a in train['annotations']}  # filter_empty_gt=True
    drawn = sorted(p.name for p in out_dir.glob('*.png'))
    assert drawn == sorted(osp.basename(i['file_name']) for i in train['images']
                           if i['id'] in with_gt)


def test_gt_panel_labels_boxes_with_class_names():
    """What browse_dataset draws (draw_pred=False): GT boxes with their class names, novel
    boxes (from the evaluator's json) labelled 'novel'."""
    from mmdet.structures import DetDataSample

    from mmowp.visualization import OpenWorldDetLocalVisualizer
    vis = OpenWorldDetLocalVisualizer(name='test_gt_panel_labels')
    vis.dataset_meta = dict(classes=('circle', 'square', 'triangle'))
    sample = DetDataSample(metainfo=dict(img_id=7))
    sample.gt_instances = InstanceData(bboxes=torch.tensor([[2., 2., 20., 20.],
                                                            [30., 30., 60., 50.]]),
                                       labels=torch.tensor([2, 0]))
    texts = []
    with mock.patch.object(vis, 'novel_gt', return_value=np.array([[40., 5., 60., 25.]])), \
            mock.patch.object(vis, 'draw_texts',
                              side_effect=lambda t, *a, **k: texts.append(t)):
        vis.add_datasample('x', np.zeros((64, 64, 3), np.uint8), sample, draw_pred=False)
    assert texts == ['triangle', 'circle', 'novel']


def test_test_py_tta_and_show(toy_run, tmp_path):
    """--tta wraps the detector in mmdet's DetTTAModel (flip + original, merged by the
    model's own NMS / max_per_img); --show draws every test image (Agg: no window)."""
    tool = osp.join(REPO_ROOT, 'tools', 'test.py')
    common = ['--cfg-options', f'data_root={toy_run["data_root"]}']
    plain, tta = str(tmp_path / 'plain.pkl'), str(tmp_path / 'tta.pkl')
    _run([sys.executable, tool, TOY, toy_run['checkpoint'], '--work-dir',
          str(tmp_path / 'p'), '--out', plain] + common, cwd=tmp_path)
    out = _run([sys.executable, tool, TOY, toy_run['checkpoint'], '--work-dir',
                str(tmp_path / 't'), '--out', tta, '--tta', '--show', '--wait-time', '0.01']
               + common, cwd=tmp_path)
    assert 'DetTTAModel' in out.stdout and 'TestTimeAug' in out.stdout
    assert 'show is True' in out.stderr  # mmdet's DetVisualizationHook took --show
    a, b = pickle.load(open(plain, 'rb')), pickle.load(open(tta, 'rb'))
    assert len(a) == len(b) == 6
    assert [x['img_id'] for x in a] == [x['img_id'] for x in b]
    assert all(len(x['pred_instances']['bboxes']) <= 100 for x in b)  # model's max_per_img
    assert any(not torch.equal(x['pred_instances']['bboxes'], y['pred_instances']['bboxes'])
               for x, y in zip(a, b))
    assert osp.isfile(glob.glob(str(tmp_path / 't' / '*' / 'open_world_metrics.json'))[0])


def test_tta_defaults_follow_the_model_test_cfg():
    from mmengine.config import Config

    from mmowp.utils.tta import enable_tta
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'lvis',
                                   'owp-fcos-iou-cs-is_r50-caffe_fpn_90k_lvis-base2novel.py'))
    pipeline = cfg.test_dataloader.dataset.pipeline
    enable_tta(cfg)
    assert cfg.model.type == 'DetTTAModel' and cfg.model.module.type == 'FCOS'
    assert cfg.model.tta_cfg.max_per_img == 300  # LVIS: 300 proposals, not mmdet's 100
    new = cfg.test_dataloader.dataset.pipeline
    assert new[:-1] == pipeline[:-1] and new[-1].type == 'TestTimeAug'
    cfg = Config.fromfile(TOY)  # a test pipeline that does not end with PackDetInputs
    cfg.test_dataloader.dataset.pipeline = cfg.test_dataloader.dataset.pipeline[:-1]
    with pytest.raises(ValueError, match='PackDetInputs'):
        enable_tta(cfg)


# --------------------------------------------------------------------------- pictures
def _val_image_with_novel(tiny_owd):
    """(image id, number of base boxes, number of novel boxes) of a val image with both."""
    with open(osp.join(tiny_owd, 'annotations', 'instances_val.json')) as f:
        data = json.load(f)
    base = {c['id'] for c in data['categories'] if c.get('split') == 'base'}
    counts = {}
    for a in data['annotations']:
        k = counts.setdefault(a['image_id'], [0, 0])
        k[0 if a['category_id'] in base else 1] += 1
    img_id = min(i for i, (b, n) in counts.items() if b and n)
    return img_id, counts[img_id][0], counts[img_id][1]


def test_novel_gt_boxes_match_pycocotools(tiny_owd):
    from pycocotools.coco import COCO

    from mmowp.visualization.objectness_maps import novel_gt_boxes
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    known = ('circle', 'square', 'triangle', 'star', 'cross')
    with mock.patch('sys.stdout', io.StringIO()):
        coco = COCO(ann)
    novel_cats = coco.getCatIds(catNms=[c['name'] for c in coco.loadCats(coco.getCatIds())
                                        if c['name'] not in known])
    ours = novel_gt_boxes(ann, known)
    for img_id in coco.getImgIds():
        ref = [[x, y, x + w, y + h] for x, y, w, h in
               (a['bbox'] for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id,
                                                                catIds=novel_cats,
                                                                iscrowd=False)))]
        got = ours.get(img_id, np.zeros((0, 4)))
        np.testing.assert_allclose(got, np.asarray(ref, np.float32).reshape(-1, 4))
    with pytest.raises(ValueError, match='categories'):
        bad = osp.join(osp.dirname(ann), '..', 'meta.json')
        novel_gt_boxes(bad, known)


def _overlap(a, b):
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_objectness_maps_draw_novel_gt_and_titles_do_not_overlap(tiny_owd):
    import matplotlib
    matplotlib.use('Agg', force=True)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from mmowp.visualization import load_model_and_data
    from mmowp.visualization.objectness_maps import (
        _rgb,
        novel_gt_boxes,
        objectness_figures,
    )
    from mmowp.visualization.open_world_visualizer import COLORS
    model, dataset, cfg = load_model_and_data(TOY, None, 'test', tiny_owd)
    img_id, n_base, n_novel = _val_image_with_novel(tiny_owd)
    idx = next(i for i in range(len(dataset)) if dataset.get_data_info(i)['img_id'] == img_id)
    novel = novel_gt_boxes(cfg.test_evaluator.ann_file, dataset.metainfo['classes'])[img_id]
    assert len(novel) == n_novel
    long = 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes @ iter_600.pth (FCOS sampling, seed 0)'
    figs = objectness_figures([(long, model), ('All sampling ' * 4, model)], dataset, idx,
                              novel_boxes=novel)
    assert set(figs) == {'merged', 'levels'}
    green, magenta = _rgb('known'), _rgb('novel')
    assert COLORS['known'] != COLORS['novel']
    for name, fig in figs.items():
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        image_axes = [ax for ax in fig.axes if ax.images]
        assert len(image_axes) == (2 * 2 if name == 'merged' else 2 * 5)
        for ax in image_axes:  # every panel: the base GT in green, the novel GT in magenta
            edges = [tuple(p.get_edgecolor()[:3]) for p in ax.patches
                     if isinstance(p, Rectangle)]
            assert edges.count(pytest.approx(green)) == n_base
            assert edges.count(pytest.approx(magenta)) == n_novel
        texts = [ax.title for ax in image_axes if ax.get_title()]
        texts += [ax.yaxis.label for ax in image_axes if ax.get_ylabel()]
        texts += [t for leg in fig.legends for t in leg.get_texts()]
        assert len([ax for ax in image_axes if ax.get_ylabel()]) == 2  # one label per row
        boxes = [t.get_window_extent(renderer) for t in texts]
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                assert not _overlap(boxes[i], boxes[j]), (texts[i].get_text(),
                                                          texts[j].get_text())
            for ax in image_axes:  # no title / label runs into another panel's image
                if texts[i].axes is not ax:
                    assert not _overlap(boxes[i], ax.get_window_extent(renderer)), \
                        texts[i].get_text()
        # nothing is cut off at the figure's border
        fig_box = fig.bbox
        for b in boxes:
            assert b.x0 >= fig_box.x0 - 1 and b.x1 <= fig_box.x1 + 1
            assert b.y0 >= fig_box.y0 - 1 and b.y1 <= fig_box.y1 + 1
        plt.close(fig)


def test_objectness_maps_tool_writes_both_figures(toy_run, tmp_path):
    out = _run([sys.executable, osp.join(REPO_ROOT, 'tools', 'analysis', 'objectness_maps.py'),
                TOY, toy_run['checkpoint'], '--num', '1', '--data-root', toy_run['data_root'],
                '--out-dir', str(tmp_path)], cwd=tmp_path)
    written = [line for line in out.stdout.splitlines() if line.endswith('.png')]
    assert [osp.basename(p).split('_', 2)[-1] for p in written] == ['merged.png', 'levels.png']
    assert all(osp.getsize(p) > 10000 for p in written)


def test_score_hist_is_named_after_the_run_and_report_takes_out(toy_run, tmp_path):
    tools = osp.join(REPO_ROOT, 'tools', 'analysis')
    out = _run([sys.executable, osp.join(tools, 'score_hist.py'), TOY, toy_run['checkpoint'],
                '--num', '4', '--data-root', toy_run['data_root']], cwd=tmp_path)
    png = out.stdout.strip().splitlines()[-1]
    assert png == osp.join(toy_run['work_dir'], 'analysis',
                           'score_hist_owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes_iter_2.png')
    assert osp.getsize(png) > 10000

    report = tmp_path / 'reports' / 'toy.md'
    out = _run([sys.executable, osp.join(tools, 'report.py'), toy_run['work_dir'], '--out',
                str(report)], cwd=tmp_path)
    assert out.stdout.split() == [str(report), str(report.with_suffix('.html'))]
    md = report.read_text()
    links = [line.split('](')[1].rstrip(')') for line in md.splitlines()
             if line.startswith('![')]
    assert 'loss.png' in links  # written next to the report, not into the run
    assert not osp.exists(osp.join(toy_run['work_dir'], 'loss.png'))
    assert any(osp.basename(png) in link for link in links)
    for link in links:  # relative links that resolve from the report's folder
        assert osp.isfile(report.parent / link), link
    assert md.count('data:image/png;base64') == 0
    assert report.with_suffix('.html').read_text().count('data:image/png;base64') == len(links)
    bad = subprocess.run([sys.executable, osp.join(tools, 'report.py'), toy_run['work_dir'],
                          '--out', str(tmp_path / 'r.txt')], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=REPO_ROOT), timeout=300)
    assert bad.returncode != 0 and '.md' in bad.stderr
