"""Starting an OWP config from mmdet model-zoo FCOS weights with ``load_from``.

The checkpoint is saved from a stock mmdet FCOS built from mmdet's own
``fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py`` (80 classes), shrunk to the toy sizes
(ResNet-18 with 16 base channels, 64-channel FPN and head) so that it fits the toy OWP
configs everywhere but in the head branches FCOS does not have, and in the classifier.
"""
import contextlib
import logging
import os.path as osp

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.runner import Runner

import mmowp  # noqa: F401
from mmowp.utils.config import apply_data_root
from mmowp.utils.model_zoo import LoadFromAdapterHook, adapt_checkpoint, add_load_from_adapter

from .conftest import CONFIG_ROOT

COND = osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-cond-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
MMDET_FCOS = osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', 'fcos',
                      'fcos_r50-caffe_fpn_gn-head_1x_coco.py')
COCO_CLASSES = tuple(f'coco{i}' for i in range(80))


def _stock_fcos(num_classes: int = 80) -> torch.nn.Module:
    cfg = Config.fromfile(MMDET_FCOS).model
    cfg.backbone.update(depth=18, base_channels=16, init_cfg=None)
    cfg.neck.update(in_channels=[16, 32, 64, 128], out_channels=64)
    cfg.bbox_head.update(num_classes=num_classes, in_channels=64, feat_channels=64,
                         stacked_convs=2, norm_cfg=dict(type='GN', num_groups=16,
                                                        requires_grad=True),
                         # the tower convs as the toy configs build them (bias or not)
                         conv_bias=Config.fromfile(COND).model.bbox_head.get('conv_bias',
                                                                            'auto'))
    register_all_modules(init_default_scope=True)
    torch.manual_seed(1)
    model = MODELS.build(cfg)
    model.init_weights()
    assert type(model.bbox_head).__name__ == 'FCOSHead'
    return model


@pytest.fixture(scope='module')
def zoo_ckpt(tmp_path_factory) -> str:
    """A checkpoint in the model-zoo layout (mmdet 2.x: ``meta.CLASSES``)."""
    path = str(tmp_path_factory.mktemp('zoo') / 'fcos_zoo.pth')
    torch.save(dict(state_dict=_stock_fcos().state_dict(),
                    meta=dict(CLASSES=COCO_CLASSES, mmdet_version='2.25.0')), path)
    return path


@contextlib.contextmanager
def _captured(caplog):
    """MMEngine's logger calls only its own handlers: give it pytest's."""
    logger = MMLogger.get_current_instance()
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO):
            yield
    finally:
        logger.removeHandler(caplog.handler)


def _owp_model(**head) -> torch.nn.Module:
    cfg = Config.fromfile(COND).model
    cfg.bbox_head.update(head)
    register_all_modules(init_default_scope=True)
    torch.manual_seed(2)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def _load(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def test_class_count_mismatch_is_a_clear_error(zoo_ckpt):
    model = _owp_model()
    with pytest.raises(ValueError) as err:
        adapt_checkpoint(model, _load(zoo_ckpt), filename=zoo_ckpt)
    msg = str(err.value)
    assert 'bbox_head.conv_cls has 80 classes in the checkpoint and 5 in the model' in msg
    assert "load_from_drop = ['bbox_head.conv_cls']" in msg and zoo_ckpt in msg


def test_drop_conv_cls_loads_everything_else(zoo_ckpt, caplog):
    model = _owp_model()
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = _load(zoo_ckpt)
    stock = {k: v.clone() for k, v in ckpt['state_dict'].items()}
    with _captured(caplog):
        report = adapt_checkpoint(model, ckpt, ['bbox_head.conv_cls'], filename=zoo_ckpt)
    missing, unexpected = model.load_state_dict(ckpt['state_dict'], strict=True)
    assert not missing and not unexpected  # the adapted state dict fits exactly
    state = model.state_dict()
    # oracle: key sets of the two models, independently of the adapter
    new = sorted(k for k in state if k not in stock)
    assert new == ['bbox_head.conv_iou.bias', 'bbox_head.conv_iou.weight']
    for k, v in state.items():
        if k.startswith(('bbox_head.conv_iou', 'bbox_head.conv_cls')):
            assert torch.equal(v, init[k]), f'{k} should keep its initialisation'
        else:
            assert torch.equal(v, stock[k]), f'{k} was not loaded'
    assert sorted(report['initialised']) == new
    assert sorted(report['dropped']) == ['bbox_head.conv_cls.bias', 'bbox_head.conv_cls.weight']
    assert sorted(report['unused']) == ['bbox_head.conv_centerness.bias',
                                        'bbox_head.conv_centerness.weight']
    lines = [r.getMessage() for r in caplog.records if 'load_from' in r.getMessage()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert f'loaded {len(state) - 4} of {len(state)} tensors' in line
    assert 'initialised the new branches bbox_head.conv_iou (not in the checkpoint)' in line
    assert 'dropped (load_from_drop) bbox_head.conv_cls has 80 classes' in line
    assert 'not used by the model: bbox_head.conv_centerness' in line


def test_conditional_inputs_are_new(tmp_path):
    """Conditional centerness reads 64 + 4 channels; FCOS's reads 64: initialised."""
    path = str(tmp_path / 'fcos5.pth')
    stock = _stock_fcos(num_classes=5).state_dict()
    torch.save(dict(state_dict=stock), path)
    model = _owp_model(objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)')
    assert model.bbox_head.conv_centerness.weight.shape[1] == 68
    init = {k: v.clone() for k, v in model.state_dict().items()}
    ckpt = _load(path)
    report = adapt_checkpoint(model, ckpt, filename=path)
    model.load_state_dict(ckpt['state_dict'], strict=True)
    assert sorted({k.rsplit('.', 1)[0] for k in report['initialised']}) == [
        'bbox_head.conv_centerness', 'bbox_head.conv_iou']
    # the centerness bias has the same shape in both: it loads, the weight does not
    assert torch.equal(model.bbox_head.conv_centerness.bias,
                       stock['bbox_head.conv_centerness.bias'])
    assert torch.equal(model.bbox_head.conv_centerness.weight,
                       init['bbox_head.conv_centerness.weight'])
    assert torch.equal(model.bbox_head.conv_cls.weight, stock['bbox_head.conv_cls.weight'])
    assert report['unused'] == [] and report['dropped'] == []


def test_exact_fit_passes_silently(zoo_ckpt, caplog):
    model = _stock_fcos()
    ckpt = _load(zoo_ckpt)
    with _captured(caplog):
        report = adapt_checkpoint(model, ckpt)
    assert not (report['initialised'] or report['dropped'] or report['unused'])
    assert not [r for r in caplog.records if 'load_from' in r.getMessage()]


def test_train_from_zoo_weights(zoo_ckpt, tiny_owd, tmp_path, caplog):
    """tools/train.py's path: load_from + load_from_drop, one training iteration."""
    cfg = Config.fromfile(COND)
    apply_data_root(cfg, tiny_owd)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = zoo_ckpt
    cfg.load_from_drop = ['bbox_head.conv_cls']
    cfg.train_cfg.max_iters = 1
    cfg.train_cfg.val_interval = 10
    cfg.train_dataloader.batch_size = 2
    cfg.default_hooks.checkpoint.interval = 1
    add_load_from_adapter(cfg)
    assert cfg.custom_hooks[-1] == dict(type='LoadFromAdapterHook',
                                        drop_mismatched=['bbox_head.conv_cls'])
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, LoadFromAdapterHook) for h in runner.hooks)
    with _captured(caplog):
        runner.train()
    messages = [r.getMessage() for r in caplog.records]
    assert any('initialised the new branches bbox_head.conv_iou' in m for m in messages)
    # MMEngine's own mismatch warning is not printed: the state dict fits
    assert not any('do not match exactly' in m for m in messages)
    stock = _load(zoo_ckpt)['state_dict']
    saved = _load(osp.join(cfg.work_dir, 'iter_1.pth'))['state_dict']
    # the OWP recipe freezes the classification tower (train_cls=False): after a step it
    # still holds the zoo weights, which shows they were loaded
    tower = [k for k in stock if k.startswith('bbox_head.cls_convs.')]
    assert tower and all(torch.equal(saved[k], stock[k]) for k in tower)
    assert saved['bbox_head.conv_cls.weight'].shape[0] == 5
    assert 'bbox_head.conv_iou.weight' in saved


def test_without_drop_training_refuses(zoo_ckpt, tiny_owd, tmp_path):
    cfg = Config.fromfile(COND)
    apply_data_root(cfg, tiny_owd)
    cfg.work_dir = str(tmp_path / 'work')
    cfg.load_from = zoo_ckpt
    cfg.train_cfg.max_iters = 1
    add_load_from_adapter(cfg)
    with pytest.raises(ValueError, match='80 classes in the checkpoint and 5 in the model'):
        Runner.from_cfg(cfg).train()
