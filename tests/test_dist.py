"""Two processes (gloo backend, CPU) through tools/dist_train.sh and tools/dist_test.sh.

* a few iterations of the toy OWP config train with MMEngine's DDP on 2 processes;
* evaluating that checkpoint with 2 processes gives exactly the single-process results: the
  per-image predictions gathered across ranks (``--out``) are the same images, once each, in
  the dataset order, with the same boxes, and the open-world metrics are equal. The val set
  has an odd number of images, so DefaultSampler pads one rank; the padding must be dropped.
* at COCO val's size (5,001 images: shards of 2,501 + 2,500 real images, the second padded
  with a repeat of the first image), ``OpenWorldCocoMetric`` on 2 gloo processes gives
  exactly the 1-process numbers, both protocols (fake predictions, a few boxes per image,
  so no model runs: tests/_dist_metric_worker.py).
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

TOY = osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
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


NUM_BIG = 5001  # odd: DefaultSampler pads the second of 2 shards with a repeat of image 0


def _big_gt(path: str) -> list:
    """5,001 images, 0-4 objects each over 2 base and 2 novel classes."""
    rng = np.random.default_rng(3)
    images = [dict(id=i + 1, width=128, height=128) for i in range(NUM_BIG)]
    anns = []
    for im in images:
        for _ in range(int(rng.integers(0, 5))):
            x, y = rng.uniform(0, 85, 2)
            w, h = rng.uniform(4, 40, 2)
            anns.append(dict(id=len(anns) + 1, image_id=im['id'],
                             category_id=int(rng.integers(1, 5)),
                             bbox=[float(x), float(y), float(w), float(h)],
                             area=float(w * h), iscrowd=0))
    cats = [dict(id=i + 1, name=n) for i, n in enumerate(('base_a', 'base_b', 'novel_a',
                                                           'novel_b'))]
    with open(path, 'w') as f:
        json.dump(dict(images=images, annotations=anns, categories=cats), f)
    return [im['id'] for im in images]


def test_uneven_shards_metric_equals_single_process(tmp_path, monkeypatch):
    from ._dist_metric_worker import main as run_worker
    gt = str(tmp_path / 'gt.json')
    ids = _big_gt(gt)
    single, dist = tmp_path / 'single', tmp_path / 'dist'
    single.mkdir()
    dist.mkdir()
    env = _env()
    env.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=env['PORT'], WORLD_SIZE='2')
    procs = [subprocess.Popen([sys.executable, '-m', 'tests._dist_metric_worker', gt,
                               str(dist)], cwd=REPO_ROOT, env=dict(env, RANK=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in range(2)]
    # the 1-process reference in this process while the 2 ranks run
    monkeypatch.setenv('WORLD_SIZE', '1')
    run_worker(gt, str(single))
    logs = [p.communicate(timeout=600)[0] for p in procs]
    for r, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f'rank {r} failed:\n{log[-4000:]}'
        assert 'Warning' not in log, log[-4000:]

    shards = [json.loads((dist / f'shard_{r}.json').read_text()) for r in range(2)]
    assert [s['shard_size'] for s in shards] == [2501, 2501]  # 5,002 indices: one is padding
    assert shards[0]['metrics'] == shards[1]['metrics']  # broadcast to every rank
    d = json.loads((dist / 'metrics.json').read_text())
    s = json.loads((single / 'metrics.json').read_text())
    assert d['gathered'] == s['gathered'] == ids  # once each, dataset order, padding dropped
    assert d['metrics'].keys() == s['metrics'].keys()
    assert any('removed' in k for k in d['metrics'])  # both protocols
    assert d['metrics'] == s['metrics']  # exactly
    assert 0 < s['metrics']['coco/novel_AR@1'] < s['metrics']['coco/novel_AR@10'] < 1
