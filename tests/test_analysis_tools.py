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

TOY = osp.join(CONFIG_ROOT, 'toy', 'owp_fcos_toy_iou-cs-is_owd-shapes.py')
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
                                   'owp_fcos_r50_fpn_iou-cs-is_lvis-base2novel.py'))
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
