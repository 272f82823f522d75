"""Working outside the checkout: `mim test` from another directory, top-level variables
that reach every place that uses them, and a user's config inheriting ours with
`_base_ = 'mmowp::...'` (the README's example, written here into a temporary folder)."""
import argparse
import copy
import glob
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

import mmowp  # noqa: F401
from mmowp.utils import config as config_utils
from mmowp.utils.config import (
    add_runner_args,
    apply_cfg_options,
    load_config,
    load_run_config,
    resolve_data_root,
)

from .conftest import CONFIG_ROOT

TOY_NAME = 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py'
TOY = osp.join(CONFIG_ROOT, 'toy', TOY_NAME)

# The README's example of a config in the user's own folder.
USER_CONFIG = """\
_base_ = 'mmowp::toy/owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py'

data_root = '{data_root}/'           # reaches the dataloaders and the evaluator
model = dict(bbox_head=dict(iou_sampling_thr=0.5))
"""


def _args(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    parser.add_argument('--work-dir')
    add_runner_args(parser)
    return parser.parse_args(argv)


def _places(cfg, key):
    """Every value of ``key`` in the dataloaders' datasets and the evaluators."""
    out = []
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        out.append(cfg[loader].dataset[key])
    for ev in ('val_evaluator', 'test_evaluator'):
        evs = cfg[ev] if isinstance(cfg[ev], list) else [cfg[ev]]
        out += [e[key] for e in evs if key in e]
    return out


def _installed() -> str:
    from importlib.metadata import distribution
    installed = str(distribution('mmowp').locate_file('mmowp'))
    if not osp.isfile(osp.join(installed, '.mim', 'model-index.yml')):
        pytest.fail('mmowp is installed without .mim/model-index.yml: install the project '
                    '(tools/install.sh)')
    return installed


# ------------------------------------------------------------ top-level variables
def test_cfg_option_known_classes_reaches_datasets_and_evaluators(tiny_owd):
    cfg = load_run_config(_args([TOY, '--cfg-options', f'data_root={tiny_owd}',
                                 'known_classes=owd_novel']))
    assert _places(cfg, 'known_classes') == ['owd_novel'] * 5
    # and the datasets use it: their classes are now the novel ones
    register_all_modules(init_default_scope=True)
    ds = DATASETS.build(copy.deepcopy(cfg.test_dataloader.dataset))
    assert ds.metainfo['classes'] == ('hexagon', 'diamond', 'ellipse', 'arrow', 'lshape')


def test_cfg_option_typos_are_refused_before_anything_is_built(tiny_owd, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=r"known_classes='owd_bsae' is not a split name "
                       r"\(did you mean 'owd_base'\?\)"):
        load_run_config(_args([TOY, '--cfg-options', f'data_root={tiny_owd}',
                               'known_classes=owd_bsae']))
    with pytest.raises(ValueError, match=r"has no key 'knwon_classes'.*Did you mean "
                       r'known_classes'):
        load_run_config(_args([TOY, '--cfg-options', 'knwon_classes=voc']))
    # a variable that nothing reads any more (only the top-level copy holds it)
    with pytest.raises(ValueError, match=r"top-level variable 'base_classes' .* reaches "
                       'nothing'):
        load_run_config(_args([TOY, '--cfg-options', 'base_classes=[a,b]']))
    assert not os.listdir(tmp_path), 'a refused run left files behind'


def test_cfg_option_pipeline_variable_reaches_its_copies():
    cfg = Config.fromfile(TOY)
    apply_cfg_options(cfg, {'test_pipeline.1.scale': (96, 96)})
    for loader in ('val_dataloader', 'test_dataloader'):
        assert tuple(cfg[loader].dataset.pipeline[1].scale) == (96, 96)
    assert tuple(cfg.train_dataloader.dataset.pipeline[2].scale) == (128, 128)  # train's own


def test_cfg_option_data_root_moves_only_its_own_datasets(tmp_path):
    """A cross-dataset config keeps its evaluation set where it is."""
    cfg = Config.fromfile(TOY)
    cfg.val_dataloader.dataset.data_root = 'data/other/'
    cfg.val_evaluator.ann_file = 'data/other/annotations/instances_val.json'
    apply_cfg_options(cfg, {'data_root': '/data/owd'})
    assert cfg.train_dataloader.dataset.data_root == '/data/owd/'
    assert cfg.test_dataloader.dataset.data_root == '/data/owd/'
    assert cfg.test_evaluator.ann_file == '/data/owd/annotations/instances_val.json'
    assert cfg.val_dataloader.dataset.data_root == 'data/other/'
    assert cfg.val_evaluator.ann_file == 'data/other/annotations/instances_val.json'


# ------------------------------------------------------------------ data location
def test_data_root_from_environment_variable(tiny_owd, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('MMOWP_DATA', tiny_owd)
    cfg = load_run_config(_args([TOY]), phases=('test', ))
    root = osp.abspath(tiny_owd) + '/'
    assert cfg.test_dataloader.dataset.data_root == root
    assert cfg.test_evaluator.ann_file == root + 'annotations/instances_val.json'
    assert cfg.data_root == root


def test_data_root_from_the_checkout(tiny_owd, tmp_path, monkeypatch):
    checkout = tmp_path / 'checkout'
    (checkout / 'data').mkdir(parents=True)
    os.symlink(tiny_owd, checkout / 'data' / 'owd_shapes')
    work = tmp_path / 'elsewhere'
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.delenv('MMOWP_DATA', raising=False)
    monkeypatch.setattr(config_utils, 'checkout_roots', lambda: [str(checkout)])
    cfg = resolve_data_root(Config.fromfile(TOY), phases=('test', ))
    assert cfg.test_dataloader.dataset.data_root == str(checkout / 'data' / 'owd_shapes') + '/'


def test_missing_data_root_is_named_with_the_way_to_set_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv('MMOWP_DATA', str(tmp_path / 'nowhere'))
    with pytest.raises(FileNotFoundError) as err:
        load_run_config(_args([TOY]), phases=('test', ))
    msg = str(err.value)
    for part in ("data_root 'data/owd_shapes/'", 'test_dataloader.dataset', '$MMOWP_DATA',
                 str(tmp_path / 'nowhere'), '--cfg-options data_root=',
                 'python -m mmowp.datasets.generate'):
        assert part in msg, (part, msg)
    assert not os.listdir(tmp_path)


# ------------------------------------------------------- a user's config elsewhere
def test_user_config_inherits_with_mmowp_prefix(tiny_owd, tmp_path):
    _installed()
    user = tmp_path / 'my_ablation.py'
    user.write_text(USER_CONFIG.format(data_root=tiny_owd))
    cfg = load_config(str(user), phases=('train', 'val', 'test'))
    assert cfg.model.bbox_head.iou_sampling_thr == 0.5
    assert cfg.model.bbox_head.type == 'OWPFCOSHead'
    # the user's data_root reached every dataset and evaluator of the base
    assert set(_places(cfg, 'data_root')[:3]) == {tiny_owd + '/'}
    assert cfg.test_evaluator.ann_file == tiny_owd + '/annotations/instances_val.json'
    # dicts inherited through `mmowp::` carry MMEngine's `_scope_='mmowp'`: they build
    assert cfg.model._scope_ == 'mmowp'
    register_all_modules(init_default_scope=True)
    model = MODELS.build(cfg.model)
    assert type(model.bbox_head).__name__ == 'OWPFCOSHead'
    assert len(DATASETS.build(cfg.test_dataloader.dataset)) == 6


def test_user_config_variable_that_reaches_nothing_is_refused(tmp_path):
    _installed()
    user = tmp_path / 'typo.py'
    user.write_text("_base_ = 'mmowp::toy/owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py'\n"
                    "base_classes = ('circle',)\n")
    with pytest.raises(ValueError, match=r"typo.py: base_classes = \('circle',\).*reaches "
                       'nothing'):
        load_config(str(user), phases=())


def _checkpoint(config: str, path: str) -> str:
    cfg = Config.fromfile(config)
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save(dict(state_dict=model.state_dict(),
                    meta=dict(dataset_meta=dict(classes=('circle', 'square', 'triangle',
                                                         'star', 'cross')))), path)
    return path


def _mim(*args, cwd, env) -> subprocess.CompletedProcess:
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    if not osp.isfile(mim):
        pytest.fail(f'{mim} not found: install the project with tools/install.sh')
    return subprocess.run([mim, *args], cwd=cwd, env=env, capture_output=True, text=True)


def test_mim_test_from_another_directory(tiny_owd, tmp_path):
    """`mim test mmowp <toy config>` (data from MMOWP_DATA), a user's config next to it,
    and a missing dataset: refused early, naming data_root, with nothing left behind."""
    _installed()
    ckpt = _checkpoint(TOY, str(tmp_path / 'model.pth'))
    work = tmp_path / 'somewhere'
    work.mkdir()
    env = dict(os.environ, PYTHONPATH='', MMOWP_DATA=tiny_owd)
    out = _mim('test', 'mmowp', TOY_NAME, '--checkpoint', ckpt, cwd=work, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'Testing finished successfully' in out.stdout
    assert glob.glob(str(work / 'work_dirs' / 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes' / '*'
                         / '*.json'))

    (work / 'my_ablation.py').write_text(USER_CONFIG.format(data_root=tiny_owd))
    env.pop('MMOWP_DATA')
    out = _mim('test', 'mmowp', 'my_ablation.py', '--checkpoint', ckpt, '--work-dir',
               str(tmp_path / 'mine'), cwd=work, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    assert glob.glob(str(tmp_path / 'mine' / '*' / '*.json'))

    empty = tmp_path / 'empty'
    empty.mkdir()
    env['MMOWP_DATA'] = str(tmp_path / 'nowhere')
    out = _mim('test', 'mmowp', TOY_NAME, '--checkpoint', ckpt, cwd=empty, env=env)
    assert out.returncode != 0
    assert "FileNotFoundError: data_root 'data/owd_shapes/'" in out.stderr
    assert 'MMOWP_DATA' in out.stderr
    assert not os.listdir(empty), 'the failed run left files behind'
