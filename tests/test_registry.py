"""Importing mmowp registers every component into mmdet's registries, and each one builds
from a config (default_scope 'mmdet', no prefix)."""
import copy

import pytest
from mmengine.registry import DefaultScope

import mmowp  # noqa: F401
from mmdet.registry import DATASETS, HOOKS, METRICS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS, \
    TASK_UTILS, TRANSFORMS

REGISTRIES = dict(MODELS=MODELS, DATASETS=DATASETS, TRANSFORMS=TRANSFORMS, METRICS=METRICS,
                  HOOKS=HOOKS, TASK_UTILS=TASK_UTILS,
                  OPTIM_WRAPPER_CONSTRUCTORS=OPTIM_WRAPPER_CONSTRUCTORS)

# A minimal build config for every mmowp component; a component registered without an
# entry here fails test_every_component_has_a_build_test.
BUILD_CFGS = {
}


def _mmowp_components():
    found = []
    for reg_name, reg in REGISTRIES.items():
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
    with DefaultScope.overwrite_default_scope('mmdet'):
        obj = REGISTRIES[reg_name].build(dict(type=name, **cfg))
    assert type(obj).__name__ == name or isinstance(obj, REGISTRIES[reg_name].get(name))
