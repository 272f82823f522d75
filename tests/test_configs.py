"""Every config in configs/ loads, names unique files (mim finds configs by file name),
and builds its model with the registered mmdet + mmowp components."""
import glob
import os.path as osp
from collections import Counter

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import DefaultScope

import mmowp  # noqa: F401

from .conftest import CONFIG_ROOT

EXPERIMENT_CONFIGS = sorted(
    p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
    if '_base_' not in p.split(osp.sep))


def test_config_file_names_are_unique():
    names = Counter(osp.basename(p) for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'),
                                                        recursive=True)
                    if '_base_' not in p.split(osp.sep))
    assert not [n for n, c in names.items() if c > 1]


@pytest.mark.parametrize('path', EXPERIMENT_CONFIGS,
                         ids=[osp.relpath(p, CONFIG_ROOT) for p in EXPERIMENT_CONFIGS])
def test_config_loads_and_model_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'mmdet'
    assert 'mmowp' in cfg.custom_imports['imports']
    first_line = open(path).readline()
    assert first_line.startswith('#') or first_line.startswith('"""'), (
        f'{path}: the first line should name the paper table row it reproduces')
    with DefaultScope.overwrite_default_scope(cfg.default_scope):
        model = MODELS.build(cfg.model)
    assert sum(p.numel() for p in model.parameters()) > 0
