import os.path as osp

import pytest

from mmowp.datasets.generate import GeneratorConfig, generate

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')


@pytest.fixture(scope='session')
def tiny_owd(tmp_path_factory) -> str:
    """A tiny generated open-world dataset shared by the tests (read-only)."""
    out = str(tmp_path_factory.mktemp('owd') / 'owd_shapes')
    generate(out, GeneratorConfig(num_train=12, num_val=6, seed=3))
    return out
