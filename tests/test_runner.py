"""The toy config trains, checkpoints, resumes and tests through MMEngine's Runner on CPU,
and through `mim train/test mmowp` from another directory."""
import filecmp
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import mmowp  # noqa: F401
from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy', 'fcos_r18_fpn_1500it_owd-shapes.py')


def _toy_cfg(data_root: str, work_dir: str, iters: int = 2) -> Config:
    cfg = Config.fromfile(TOY)
    apply_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.train_dataloader.batch_size = 2
    cfg.val_dataloader.batch_size = 2
    cfg.test_dataloader = cfg.val_dataloader
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = [dict(type='MultiStepLR', by_epoch=False, milestones=[3], gamma=0.1)]
    return cfg


def test_apply_data_root_moves_datasets_and_evaluators(tiny_owd):
    cfg = Config.fromfile(TOY)
    old = cfg.train_dataloader.dataset.data_root
    apply_data_root(cfg, tiny_owd)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.data_root == tiny_owd + '/'
    for key in ('val_evaluator', 'test_evaluator'):
        evs = cfg[key] if isinstance(cfg[key], list) else [cfg[key]]
        for ev in evs:
            if 'ann_file' in ev:
                assert ev.ann_file.startswith(tiny_owd + '/') and old not in ev.ann_file


def test_train_checkpoint_resume_and_test(tiny_owd, tmp_path):
    work = str(tmp_path / 'run')
    runner = Runner.from_cfg(_toy_cfg(tiny_owd, work))
    runner.train()
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    first = {k: v.clone() for k, v in runner.model.state_dict().items()}

    # resume (exercises the torch>=2.6 weights_only fix through Runner.resume)
    cfg = _toy_cfg(tiny_owd, work, iters=4)
    cfg.resume = True
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 4 and osp.isfile(osp.join(work, 'iter_4.pth'))
    state = torch.load(osp.join(work, 'iter_4.pth'), map_location='cpu', weights_only=False)
    assert state['meta']['iter'] == 4
    changed = [k for k, v in state['state_dict'].items()
               if v.dtype.is_floating_point and not torch.equal(v, first[k])]
    assert changed, 'resumed training did not update the weights'

    cfg = _toy_cfg(tiny_owd, str(tmp_path / 'test'))
    cfg.load_from = osp.join(work, 'iter_4.pth')  # max_keep_ckpts=1 removed iter_2.pth
    metrics = Runner.from_cfg(cfg).test()
    assert metrics and all(isinstance(v, float) for v in metrics.values())


def _mim() -> str:
    mim = osp.join(osp.dirname(sys.executable), 'mim')
    if not osp.isfile(mim):
        pytest.fail(f'{mim} not found: install the project with tools/install.sh')
    return mim


def test_mim_train_and_test_from_another_directory(tiny_owd, tmp_path):
    from importlib.metadata import distribution
    installed = distribution('mmowp').locate_file('mmowp')
    assert osp.isfile(osp.join(installed, '.mim', 'configs', 'toy', osp.basename(TOY))), (
        'mmowp is not installed with its .mim folder: run tools/run_tests.sh (pip install .)')
    stale = [p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
             if not filecmp.cmp(p, osp.join(installed, '.mim', 'configs',
                                            osp.relpath(p, CONFIG_ROOT)), shallow=False)]
    assert not stale, f'installed mmowp is older than {stale}: run tools/run_tests.sh'
    env = dict(os.environ, PYTHONPATH='')
    opts = ['--cfg-options', f'data_root={tiny_owd}/', 'train_cfg.max_iters=2',
            'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'train_dataloader.batch_size=2', 'val_dataloader.batch_size=2']
    work = str(tmp_path / 'mim_work')
    subprocess.run([_mim(), 'train', 'mmowp', osp.basename(TOY), '--work-dir', work] + opts,
                   cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    ckpt = osp.join(work, 'iter_2.pth')
    assert osp.isfile(ckpt)
    out = subprocess.run([_mim(), 'test', 'mmowp', osp.basename(TOY), '--checkpoint', ckpt,
                          '--work-dir', str(tmp_path / 'mim_test')] + opts[:2],
                         cwd=tmp_path, env=env, check=True, capture_output=True, text=True)
    assert 'Testing finished successfully' in out.stdout
    assert glob.glob(str(tmp_path / 'mim_test' / '*' / '*.json'))
    shutil.rmtree(work)


def test_load_run_config_applies_overrides_and_default_work_dir(tiny_owd, monkeypatch):
    import argparse

    from mmowp.utils.config import add_runner_args, load_run_config
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    parser.add_argument('--work-dir')
    add_runner_args(parser)
    args = parser.parse_args([TOY, '--cfg-options', f'data_root={tiny_owd}',
                              'train_cfg.max_iters=7', '--gpus', '1'])
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    cfg = load_run_config(args)
    assert cfg.train_cfg.max_iters == 7 and cfg.launcher == 'none'
    assert cfg.train_dataloader.dataset.data_root == tiny_owd + '/'
    assert cfg.work_dir == osp.join('./work_dirs', 'fcos_r18_fpn_1500it_owd-shapes')
    assert os.environ['LOCAL_RANK'] == '0'
