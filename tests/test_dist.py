"""Two processes (gloo backend, CPU) through tools/dist_train.sh and tools/dist_test.sh.

* a few iterations of the toy OWP config train with MMEngine's DDP on 2 processes;
* evaluating that checkpoint with 2 processes gives exactly the single-process results: the
  per-image predictions gathered across ranks (``--out``) are the same images, once each, in
  the dataset order, with the same boxes, and the open-world metrics are equal. The val set
  has an odd number of images, so DefaultSampler pads one rank; the padding must be dropped.
"""
import json
import os
import os.path as osp
import pickle
import socket
import subprocess
import sys

import numpy as np
import pytest

from mmowp.datasets.generate import GeneratorConfig, generate

from .conftest import CONFIG_ROOT, REPO_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy', 'owp_fcos_toy_iou-cs-is_owd-shapes.py')
NUM_VAL = 5  # odd: 2 ranks get 3 + 3 indices, one of them padding


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _env() -> dict:
    env = dict(os.environ)
    # dist_*.sh call `python`: make it this interpreter
    env['PATH'] = osp.dirname(sys.executable) + os.pathsep + env.get('PATH', '')
    env['PORT'] = str(_free_port())
    env['OMP_NUM_THREADS'] = '1'
    # this checkout's mmowp, not an installed copy (dist_*.sh do the same)
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _run(cmd: list, log: str) -> str:
    out = subprocess.run(cmd, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                         timeout=600)
    text = out.stdout + out.stderr
    with open(log, 'w') as f:
        f.write(text)
    assert out.returncode == 0, f'{" ".join(cmd)} failed:\n{text[-4000:]}'
    return text


@pytest.fixture(scope='module')
def odd_owd(tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp('owd_dist') / 'owd')
    generate(out, GeneratorConfig(num_train=8, num_val=NUM_VAL, seed=5))
    return out


def _opts(data_root: str) -> list:
    return ['--cfg-options', f'data_root={data_root}/', 'train_cfg.max_iters=3',
            'train_cfg.val_interval=3', 'default_hooks.checkpoint.interval=3',
            'default_hooks.logger.interval=1', 'train_dataloader.batch_size=2',
            'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2']


def test_two_process_train_and_eval_equal_single_process(odd_owd, tmp_path):
    work = str(tmp_path / 'train')
    log = _run(['bash', 'tools/dist_train.sh', TOY, '2', '--work-dir', work] + _opts(odd_owd),
               str(tmp_path / 'train.log'))
    # MMEngine's DDP on 2 processes, gloo (rank 0 logs the environment)
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert "dist_cfg: {'backend': 'gloo'}" in log
    assert log.count('Iter(train) [3/3]') >= 1
    ckpt = osp.join(work, 'iter_3.pth')
    assert osp.isfile(ckpt)

    single_pkl, dist_pkl = str(tmp_path / 'single.pkl'), str(tmp_path / 'dist.pkl')
    _run([sys.executable, 'tools/test.py', TOY, ckpt, '--work-dir', str(tmp_path / 'single'),
          '--out', single_pkl] + _opts(odd_owd), str(tmp_path / 'single.log'))
    _run(['bash', 'tools/dist_test.sh', TOY, ckpt, '2', '--work-dir', str(tmp_path / 'dist'),
          '--out', dist_pkl] + _opts(odd_owd), str(tmp_path / 'dist.log'))

    with open(single_pkl, 'rb') as f:
        single = pickle.load(f)
    with open(dist_pkl, 'rb') as f:
        dist = pickle.load(f)
    ids_single = [r['img_id'] for r in single]
    ids_dist = [r['img_id'] for r in dist]
    assert len(ids_single) == NUM_VAL == len(set(ids_single))
    assert ids_dist == ids_single, 'images dropped, duplicated or reordered across ranks'
    for a, b in zip(single, dist):
        pa, pb = a['pred_instances'], b['pred_instances']
        assert len(pa['scores']) == len(pb['scores']) > 0
        np.testing.assert_allclose(pa['bboxes'].numpy(), pb['bboxes'].numpy(), atol=1e-4)
        np.testing.assert_allclose(pa['scores'].numpy(), pb['scores'].numpy(), atol=1e-6)

    metrics = []
    for name in ('single', 'dist'):
        files = [osp.join(r, f) for r, _, fs in os.walk(tmp_path / name) for f in fs
                 if f == 'open_world_metrics.json']
        assert len(files) == 1, files
        with open(files[0]) as f:
            metrics.append(json.load(f))
    assert metrics[0]['metrics'].keys() == metrics[1]['metrics'].keys()
    for k, v in metrics[0]['metrics'].items():
        assert metrics[1]['metrics'][k] == pytest.approx(v, abs=1e-9), k
    curves = [m['ar_vs_proposals'] for m in metrics]
    for key in ('k', 'novel', 'base'):
        np.testing.assert_allclose(np.asarray(curves[1][key], float),
                                   np.asarray(curves[0][key], float), atol=1e-9)
