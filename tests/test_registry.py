"""Importing mmowp registers every component into mmdet's registries, and each one builds
from a config (default_scope 'mmdet', no prefix)."""
import copy

import mmdet.registry as mmdet_registry
import pytest
import torch
from mmengine.registry import DefaultScope, Registry

import mmowp  # noqa: F401

# every registry of mmdet, so that a component registered anywhere else is noticed too
ALL_REGISTRIES = {n: r for n, r in vars(mmdet_registry).items() if isinstance(r, Registry)}

# A minimal build config for every mmowp component; a component registered without an
# entry here fails test_every_component_has_a_build_test.
_HEAD = dict(num_classes=5, in_channels=32, feat_channels=32, stacked_convs=1,
             strides=[8, 16], regress_ranges=((-1, 16), (16, 1e8)),
             norm_cfg=dict(type='GN', num_groups=8, requires_grad=True))
_FOCAL = dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0)


def _owd(ann: str, **kw):
    def build(root: str) -> dict:
        return dict(ann_file=f'{root}/annotations/{ann}', **kw)
    return build


def _owd_dataset(**kw):
    def build(root: str) -> dict:
        return dict(data_root=root, ann_file='annotations/instances_train.json',
                    data_prefix=dict(img=''), pipeline=[], **kw)
    return build


BUILD_CFGS = {
    ('DATASETS', 'OpenWorldCocoDataset'): _owd_dataset(known_classes='owd_base'),
    ('DATASETS', 'OpenWorldLVISV1Dataset'): lambda root: dict(
        data_root=root, ann_file='annotations/lvis_v1_train.json', data_prefix=dict(img=''),
        pipeline=[], known_classes='owd_base'),
    ('HOOKS', 'AtomicCheckpointHook'): dict(interval=10, by_epoch=False),
    ('HOOKS', 'CheckInvalidLossTermHook'): dict(interval=1),
    ('HOOKS', 'ClassAgnosticFromModelHook'): dict(),
    ('HOOKS', 'LoadFromAdapterHook'): dict(drop_mismatched=('conv_cls', )),
    ('TRANSFORMS', 'CheckedLoadImageFromFile'): dict(skip_undecodable=True),
    ('METRICS', 'OpenWorldCocoMetric'): _owd('instances_val.json', known_classes='owd_base'),
    ('METRICS', 'UnknownDetectionMetric'): _owd('instances_val.json', known_classes='owd_base'),
    ('MODELS', 'ATSSFCOSHead'): dict(_HEAD),
    ('MODELS', 'OWPFCOSHead'): dict(_HEAD, objectness=('centerness', 'iou'), conditional=True,
                                    iou_sampling_thr=0.3, score_mode='iou'),
    ('MODELS', 'PGFCOSHead'): dict(_HEAD, loss_pg=dict(type='PolicyGradientLoss')),
    ('MODELS', 'PGOWPFCOSHead'): dict(_HEAD, objectness=('iou', ), score_mode='cls*iou',
                                      loss_pg=dict(type='PolicyGradientLoss')),
    ('MODELS', 'PolicyGradientLoss'): dict(num_samples=4),
    ('MODELS', 'RbAOWPFCOSHead'): dict(_HEAD, objectness=('iou', ), score_mode='cls*iou',
                                       unknown_score_mode='iou*rej',
                                       loss_rba=dict(type='RbALoss')),
    ('MODELS', 'RbALoss'): dict(alpha=5.0),
    ('MODELS', 'UnknownObjectMaskedLoss'): dict(loss_cls=_FOCAL, thr=0.95, start_iter=5000),
    ('OPTIM_WRAPPER_CONSTRUCTORS', 'FreezeOptimWrapperConstructor'): dict(
        optim_wrapper_cfg=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01))),
    ('TASK_UTILS', 'PointATSSAssigner'): dict(topk=9),
    ('VISUALIZERS', 'OpenWorldDetLocalVisualizer'): dict(name='owp_vis_test'),
    ('TRANSFORMS', 'OutlierPaste'): _owd('instances_train_all.json', pool_classes='owd_novel',
                                         p_out=0.5),
}


def _mmowp_components():
    found = []
    for reg_name, reg in ALL_REGISTRIES.items():
        for name, cls in reg.module_dict.items():
            if cls.__module__.startswith('mmowp.'):
                found.append((reg_name, name))
    return sorted(found)


def test_every_component_has_a_build_test():
    missing = [c for c in _mmowp_components() if c not in BUILD_CFGS]
    assert not missing, f'add a build config to BUILD_CFGS for {missing}'


@pytest.mark.parametrize('key', sorted(BUILD_CFGS), ids=lambda k: f'{k[0]}.{k[1]}')
def test_component_builds_from_config(key, tiny_owd):
    reg_name, name = key
    cfg = copy.deepcopy(BUILD_CFGS[key])
    if callable(cfg):
        cfg = cfg(tiny_owd)
    registry = ALL_REGISTRIES[reg_name]
    with DefaultScope.overwrite_default_scope('mmdet'):
        if reg_name == 'OPTIM_WRAPPER_CONSTRUCTORS':
            obj = registry.build(dict(type=name, **cfg))
            wrapper = obj(torch.nn.Linear(2, 2))
            assert wrapper.optimizer.param_groups
        else:
            obj = registry.build(dict(type=name, **cfg))
    assert isinstance(obj, registry.get(name))
    assert registry.get(name).__module__.startswith('mmowp.')
