"""Crash and resume: a toy run killed (SIGKILL) mid-training and resumed with
``tools/train.py --resume`` ends with the same weights, optimizer state, learning-rate
schedule and Unknown Object Masking schedule as the same run left alone.

Why it can be exact: MMEngine's checkpoint holds the weights and buffers, the optimizer
state (momentum), the param schedulers and the message hub (iteration). On resume,
``IterBasedTrainLoop.run`` *advances* the dataloader iterator by the number of finished
iterations (``next()`` that many times), so the ``InfiniteSampler`` — whose permutation
comes from its own generator seeded by ``randomness.seed`` — and the pipeline's random
transforms (``RandomFlip`` draws from numpy's global RNG, seeded by ``randomness.seed`` when
the Runner is built) replay the same batches; nothing else in a training step draws random
numbers. The masking state is only the iteration, read from the message hub, which the
checkpoint restores.
"""
import json
import os
import os.path as osp
import signal
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT, REPO_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy',
               'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py')
MAX_ITERS, CKPT_ITER, KILL_AFTER, MASK_START = 5, 2, 3, 3

# Trains the dumped config and SIGKILLs itself right after iteration KILL_AFTER, so the
# work done after the last checkpoint (iteration CKPT_ITER) is lost, as in a real crash.
_CRASHING_RUN = '''
import os, signal, sys
sys.path.insert(0, {repo!r})
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
import mmowp  # noqa


class Crash(Hook):
    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == {kill}:  # runner.iter is 0-based here
            os.kill(os.getpid(), signal.SIGKILL)


cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
runner = Runner.from_cfg(cfg)
runner.register_hook(Crash(), priority='LOWEST')
runner.train()
'''


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _config(data_root: str, path: str) -> str:
    cfg = Config.fromfile(TOY)
    apply_data_root(cfg, data_root)
    cfg.train_cfg.max_iters = MAX_ITERS
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.batch_size = 2
    cfg.default_hooks.checkpoint.interval = CKPT_ITER
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.logger.interval = 1
    cfg.log_processor.window_size = 1  # log each iteration's own values
    # lr changes on both sides of the resume point: warm-up to iter 4, step at iter 3
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.25, by_epoch=False, begin=0, end=4),
        dict(type='MultiStepLR', by_epoch=False, begin=0, end=MAX_ITERS, milestones=[3],
             gamma=0.1)
    ]
    # a threshold every location passes, so that masking visibly starts at MASK_START
    cfg.model.bbox_head.loss_cls.thr = 0.01
    cfg.model.bbox_head.loss_cls.start_iter = MASK_START
    cfg.dump(path)
    return path


def _train(args: list, log: str, expect_rc: int = 0) -> None:
    out = subprocess.run(args, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                         timeout=600)
    with open(log, 'w') as f:
        f.write(out.stdout + out.stderr)
    assert out.returncode == expect_rc, (out.stdout + out.stderr)[-4000:]


def _scalars(work_dir: str) -> dict:
    """iteration (1-based) -> logged scalars, later runs overriding earlier ones."""
    rows = {}
    for ts in sorted(os.listdir(work_dir)):
        path = osp.join(work_dir, ts, 'vis_data', 'scalars.json')
        if osp.isfile(path):
            with open(path) as f:
                for line in f:
                    row = json.loads(line)
                    if 'loss' in row:
                        rows[row['iter']] = row
    return rows


def _load(path: str) -> dict:
    return torch.load(path, map_location='cpu', weights_only=False)


def test_killed_run_resumes_to_the_same_weights(tiny_owd, tmp_path):
    cfg = _config(tiny_owd, str(tmp_path / 'cfg.py'))
    straight, crashed = str(tmp_path / 'straight'), str(tmp_path / 'crashed')
    _train([sys.executable, 'tools/train.py', cfg, '--work-dir', straight],
           str(tmp_path / 'straight.log'))
    script = _CRASHING_RUN.format(repo=REPO_ROOT, kill=KILL_AFTER)
    _train([sys.executable, '-c', script, cfg, crashed], str(tmp_path / 'crash.log'),
           expect_rc=-signal.SIGKILL)
    assert osp.isfile(osp.join(crashed, f'iter_{CKPT_ITER}.pth'))
    assert not osp.isfile(osp.join(crashed, f'iter_{MAX_ITERS}.pth'))
    _train([sys.executable, 'tools/train.py', cfg, '--work-dir', crashed, '--resume'],
           str(tmp_path / 'resume.log'))
    with open(tmp_path / 'resume.log') as f:
        log = f.read()
    assert f'resumed epoch: 0, iter: {CKPT_ITER}' in log
    assert f'Advance dataloader {CKPT_ITER} steps' in log

    a = _load(osp.join(straight, f'iter_{MAX_ITERS}.pth'))
    b = _load(osp.join(crashed, f'iter_{MAX_ITERS}.pth'))
    assert a['meta']['iter'] == b['meta']['iter'] == MAX_ITERS
    assert a['state_dict'].keys() == b['state_dict'].keys()
    worst = max((a['state_dict'][k].double() - b['state_dict'][k].double()).abs().max().item()
                for k in a['state_dict'] if a['state_dict'][k].is_floating_point())
    assert worst <= 1e-6, f'resumed weights differ by up to {worst}'
    # optimizer state (every buffer of whatever optimizer the toy recipe uses) and schedulers
    for sa, sb in zip(a['optimizer']['state'].values(), b['optimizer']['state'].values()):
        assert sa.keys() == sb.keys() and sa
        for key in sa:
            torch.testing.assert_close(sa[key], sb[key], atol=1e-6, rtol=0)
    assert a['param_schedulers'] == b['param_schedulers']

    # lr schedule and masking schedule, iteration by iteration
    la, lb = _scalars(straight), _scalars(crashed)
    assert sorted(la) == sorted(lb) == list(range(1, MAX_ITERS + 1))
    for it in range(1, MAX_ITERS + 1):
        assert lb[it]['lr'] == pytest.approx(la[it]['lr'], rel=1e-12), it
        assert lb[it]['loss'] == pytest.approx(la[it]['loss'], rel=1e-5, abs=1e-7), it
        masked = lb[it]['num_unknown_masked']
        assert masked == la[it]['num_unknown_masked'], it
        assert (masked > 0) == (it - 1 >= MASK_START), (it, masked)  # 0-based start_iter
    lrs = [la[it]['lr'] for it in range(1, MAX_ITERS + 1)]
    assert len(set(lrs)) >= 3, f'the schedule should change the lr: {lrs}'
