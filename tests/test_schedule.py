"""scale_schedule: every point of an iteration-based schedule, on hand-computed cases."""
import os.path as osp

import pytest
from mmengine.config import Config

from mmowp.utils.schedule import scale_schedule

from .conftest import CONFIG_ROOT


def schedule(**train_cfg):
    return Config(dict(
        train_cfg=dict(type='IterBasedTrainLoop', **train_cfg),
        param_scheduler=[
            dict(type='LinearLR', by_epoch=False, begin=0, end=500),
            dict(type='MultiStepLR', by_epoch=False, begin=0, end=90000,
                 milestones=[60000, 80000]),
            dict(type='CosineAnnealingLR', by_epoch=False, begin=45000, T_max=45000,
                 end=int(1e9)),
        ],
        model=dict(bbox_head=dict(loss_cls=dict(type='UnknownObjectMaskedLoss',
                                                start_iter=30000)))))


def test_shrink_hand_computed():
    cfg = scale_schedule(schedule(max_iters=90000, val_interval=10000), 900)
    assert cfg.train_cfg.max_iters == 900 and cfg.train_cfg.val_interval == 100
    warmup, steps, cosine = cfg.param_scheduler
    assert (warmup.begin, warmup.end) == (0, 5)
    assert (steps.begin, steps.end, steps.milestones) == (0, 900, [600, 800])
    assert (cosine.begin, cosine.T_max, cosine.end) == (450, 450, int(1e9))  # open end kept
    assert cfg.model.bbox_head.loss_cls.start_iter == 300


def test_tiny_and_stretched_schedules_stay_in_range():
    cfg = scale_schedule(schedule(max_iters=90000, val_interval=10000), 1)
    warmup, steps, cosine = cfg.param_scheduler
    assert cfg.train_cfg.val_interval == 1
    assert (warmup.begin, warmup.end) == (0, 1)  # 500 / 90000 rounds to 0: at least 1
    assert steps.milestones == [1, 1] and steps.end == 1
    assert (cosine.begin, cosine.T_max) == (0, 1)  # round(0.5) == 0
    cfg = scale_schedule(schedule(max_iters=900), 1800)
    assert 'val_interval' not in cfg.train_cfg
    assert cfg.param_scheduler[0].end == 1000 and cfg.param_scheduler[1].end == 1800
    # factor 2 on points written for 90000 iterations: ends clamp to 1800, milestones do not
    assert cfg.param_scheduler[1].milestones == [120000, 160000]


def test_single_scheduler_dict_and_plain_loss():
    cfg = Config(dict(train_cfg=dict(max_iters=100),
                      param_scheduler=dict(type='LinearLR', by_epoch=False, begin=0, end=40),
                      model=dict(bbox_head=dict(loss_cls=dict(type='FocalLoss')))))
    scale_schedule(cfg, 50)
    assert cfg.param_scheduler.end == 20 and 'start_iter' not in cfg.model.bbox_head.loss_cls


def test_toy_config_is_scaled():
    path = osp.join(CONFIG_ROOT, 'toy',
                    'rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py')
    cfg = Config.fromfile(path)
    old = cfg.train_cfg.max_iters
    scale_schedule(cfg, old // 2)
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == old // 2
    assert all(s.end <= old // 2 for s in cfg.param_scheduler)


def test_bad_input_is_named():
    with pytest.raises(ValueError, match='max_iters'):
        scale_schedule(Config(dict(train_cfg=dict(max_epochs=12))), 10)
    with pytest.raises(ValueError, match='iters must be an int >= 1'):
        scale_schedule(schedule(max_iters=100), 0)
