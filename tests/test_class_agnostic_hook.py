"""The evaluators and the visualizer take class-agnosticism from the model's head."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

import mmowp  # noqa: F401
from mmowp.engine.hooks import model_is_class_agnostic
from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT


def _cfg(name: str, data_root: str, work_dir: str) -> Config:
    cfg = Config.fromfile(osp.join(CONFIG_ROOT, 'toy', name))
    apply_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.test_dataloader.batch_size = 2
    for key in ('val_evaluator', 'test_evaluator'):
        cfg[key].pop('class_agnostic', None)
    cfg.visualizer.pop('class_agnostic', None)
    return cfg


@pytest.mark.parametrize('name,agnostic', [
    ('owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py', True),          # score_mode 'iou'
    ('owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py', False),  # 'cls*iou'
    ('fcos_r18_fpn_1500it_owd-shapes.py', None),                    # mmdet's FCOSHead: says nothing
])
def test_test_run_sets_metric_and_visualizer_from_the_head(tiny_owd, tmp_path, name, agnostic):
    runner = Runner.from_cfg(_cfg(name, tiny_owd, str(tmp_path)))
    assert model_is_class_agnostic(runner.model) is agnostic
    runner.test()
    metric = runner.test_loop.evaluator.metrics[0]
    assert metric.class_agnostic is agnostic
    # the visualizer is a per-process singleton: a value set for an earlier runner of the
    # process (an earlier parametrization here) follows the new model
    assert runner.visualizer.class_agnostic is agnostic


def test_a_contradicting_config_value_is_refused(tiny_owd, tmp_path):
    cfg = _cfg('owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py', tiny_owd, str(tmp_path))
    cfg.test_evaluator['class_agnostic'] = False
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=r'test_evaluator.class_agnostic.*class-agnostic'):
        runner.test()
