"""tools/gpu_check.sh where there is no GPU, the benchmark it runs (on the CPU), and the Slurm
launch scripts (against a stand-in ``srun``)."""
import json
import math
import os
import os.path as osp
import shutil
import stat
import subprocess
import sys

import pytest
import torch

from ._helpers import load_tool
from .conftest import REPO_ROOT

GPU_CHECK = osp.join(REPO_ROOT, 'tools', 'gpu_check.sh')
BENCH = osp.join(REPO_ROOT, 'tools', 'analysis', 'benchmark_train.py')


@pytest.fixture
def bench():
    """tools/analysis/benchmark_train.py as a module."""
    return load_tool('analysis/benchmark_train.py', 'benchmark_train')


def _script(folder, name, body):
    path = osp.join(folder, name)
    with open(path, 'w') as f:
        f.write('#!/usr/bin/env bash\n' + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IEXEC)
    return path


def _env(tmp_path, **extra):
    env = dict(os.environ, PYTHON=sys.executable, **extra)
    env['PATH'] = str(tmp_path) + os.pathsep + env.get('PATH', '')
    return env


# --------------------------------------------------------------------------- no GPU
def test_gpu_check_without_gpu_exits_0_with_a_clear_message(tmp_path):
    """nvidia-smi (a stand-in) lists no GPU: nothing is built or trained, exit 0."""
    _script(tmp_path, 'nvidia-smi', 'echo "No devices were found"; exit 6\n')
    env = _env(tmp_path)
    env.pop('CUDA_VISIBLE_DEVICES', None)
    out = subprocess.run(['bash', GPU_CHECK], env=env, capture_output=True, text=True,
                         timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert 'no GPU to check' in out.stdout and 'Nothing was' in out.stdout
    assert 'benchmark' not in out.stdout and not osp.exists(tmp_path / 'work_dirs')


def test_gpu_check_with_gpus_hidden_exits_0(tmp_path):
    _script(tmp_path, 'nvidia-smi', 'echo "GPU 0: Stand-in (UUID: GPU-0)"\n')
    out = subprocess.run(['bash', GPU_CHECK], env=_env(tmp_path, CUDA_VISIBLE_DEVICES=''),
                         capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert 'CUDA_VISIBLE_DEVICES is set empty' in out.stdout


@pytest.mark.skipif(torch.cuda.is_available(), reason='torch sees a GPU here')
def test_gpu_check_refuses_a_cpu_torch_when_a_gpu_is_listed(tmp_path):
    """A GPU is listed but torch is a CPU build: exit 1, saying what to install."""
    _script(tmp_path, 'nvidia-smi', 'echo "GPU 0: Stand-in (UUID: GPU-0)"\n')
    env = _env(tmp_path)
    env.pop('CUDA_VISIBLE_DEVICES', None)
    out = subprocess.run(['bash', GPU_CHECK], env=env, capture_output=True, text=True,
                         timeout=300, cwd=str(tmp_path))
    assert out.returncode == 1
    assert 'torch' in out.stdout and 'CUDA build of torch' in out.stdout


# --------------------------------------------------------------------------- benchmark
def test_benchmark_resolves_mmdet_configs_and_names_missing_ones(bench):
    mod = bench
    path = mod.resolve_config('mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py')
    assert osp.isfile(path) and path.endswith('fcos_r50-caffe_fpn_gn-head_1x_coco.py')
    with pytest.raises(FileNotFoundError, match='nope.py'):
        mod.resolve_config('configs/nope.py')


def test_benchmark_summary_ratios_and_failure(bench):
    mod = bench
    a, b = 'configs/a.py', 'mmdet::x/b.py'
    runs = [dict(config=a, amp=False, device='cuda', iters_per_s=4.0, peak_mem_mib=3000.0,
                 losses_finite=True, nonfinite_iters=[]),
            dict(config=b, amp=False, device='cuda', iters_per_s=5.0, peak_mem_mib=2000.0,
                 losses_finite=True, nonfinite_iters=[]),
            dict(config=a, amp=True, device='cuda', iters_per_s=8.0, peak_mem_mib=1500.0,
                 losses_finite=True, nonfinite_iters=[])]
    s = mod.summarize(runs, [a, b])
    assert s['ok']
    ratios = {r['what']: r for r in s['ratios']}
    assert ratios['a_fp32 / b_fp32']['iters_per_s'] == pytest.approx(0.8)
    assert ratios['a_fp32 / b_fp32']['peak_mem'] == pytest.approx(1.5)
    assert ratios['a_amp / a_fp32']['iters_per_s'] == pytest.approx(2.0)
    assert ratios['a_amp / a_fp32']['peak_mem'] == pytest.approx(0.5)
    assert 'b_amp / b_fp32' not in ratios  # b has no AMP run
    table = mod.format_summary(s)
    assert '| a_fp32 | cuda | 4.00 | 3000 | yes |' in table
    runs[1].update(losses_finite=False, nonfinite_iters=[7])
    runs.append(dict(config=b, amp=True, device='cuda', error='exit 1'))
    s = mod.summarize(runs, [a, b])
    assert not s['ok']
    table = mod.format_summary(s)
    assert 'NO (iterations [7])' in table and 'failed: exit 1' in table


def test_benchmark_refuses_amp_on_the_cpu(bench):
    mod = bench
    with pytest.raises(SystemExit):
        mod.parse_args(['configs/x.py', '--device', 'cpu', '--amp', 'on'])


def test_benchmark_runs_two_configs_on_the_cpu(tmp_path):
    """The driver end to end, small: generated images, one process per run, summary json."""
    work = tmp_path / 'bench'
    a = osp.join(REPO_ROOT, 'configs', 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
    b = osp.join(REPO_ROOT, 'configs', 'toy', 'fcos_r18_fpn_1500it_owd-shapes.py')
    out = subprocess.run(
        [sys.executable, BENCH, a, b, '--device', 'cpu', '--amp', 'off', '--iters', '3',
         '--warmup', '1', '--batch-size', '2', '--img-scale', '96', '64', '--num-images', '4',
         '--work-dir', str(work)], capture_output=True, text=True, timeout=900,
        cwd=REPO_ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    summary = json.loads((work / 'summary.json').read_text())
    assert summary['ok'] and len(summary['runs']) == 2
    for r in summary['runs']:
        assert r['iters'] == 3 and r['img_scale'] == [96, 64] and r['losses_finite']
        assert r['iters_per_s'] > 0 and r['peak_mem_mib'] > 0
        assert {'loss', 'loss_bbox'} <= set(r['last_losses'])
        assert all(math.isfinite(v) for v in r['last_losses'].values())
    assert 'loss_cls' not in summary['runs'][0]['last_losses']  # OWP: frozen classifier
    assert 'loss_cls' in summary['runs'][1]['last_losses']
    (ratio, ) = summary['ratios']
    r0, r1 = summary['runs']
    assert ratio['iters_per_s'] == pytest.approx(r0['iters_per_s'] / r1['iters_per_s'])
    # images generated once at the shorter side, resized to exactly 96x64 by the pipeline
    meta = json.loads((work / 'data' / 'meta.json').read_text())
    assert meta['image_size'] == 64 and meta['num_train'] == 4
    # the console stays short; each run's log is in its folder
    assert len(out.stdout.splitlines()) < 20
    assert (work / 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes_fp32' / 'run.log').is_file()


# --------------------------------------------------------------------------- slurm
@pytest.mark.parametrize('script,fourth,tool', [
    ('slurm_train.sh', 'work_dirs/x', 'train.py'),
    ('slurm_test.sh', 'ckpt.pth', 'test.py'),
])
def test_slurm_scripts_call_srun_like_mmdet(tmp_path, script, fourth, tool):
    log = tmp_path / 'srun.args'
    _script(tmp_path, 'srun', f'printf "%s\\n" "$@" > {log}\n')
    env = _env(tmp_path, GPUS='16', SRUN_ARGS='--qos=high --time=1:00:00')
    out = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', script), 'gpu', 'owp',
                          'configs/a b.py', fourth, '--cfg-options', 'x=1'],
                         env=env, capture_output=True, text=True, timeout=60,
                         cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    args = log.read_text().splitlines()
    head = ['-p', 'gpu', '--job-name=owp', '--gres=gpu:8', '--ntasks=16',
            '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1',
            '--qos=high', '--time=1:00:00', 'python', '-u']
    assert args[:len(head)] == head
    rest = args[len(head):]
    assert osp.samefile(rest[0], osp.join(REPO_ROOT, 'tools', tool))
    if tool == 'train.py':
        assert rest[1:] == ['configs/a b.py', '--work-dir=work_dirs/x', '--launcher=slurm',
                            '--cfg-options', 'x=1']
    else:
        assert rest[1:] == ['configs/a b.py', 'ckpt.pth', '--launcher=slurm',
                            '--cfg-options', 'x=1']


def test_shell_scripts_parse():
    bash = shutil.which('bash')
    for name in ('gpu_check.sh', 'slurm_train.sh', 'slurm_test.sh'):
        out = subprocess.run([bash, '-n', osp.join(REPO_ROOT, 'tools', name)],
                             capture_output=True, text=True)
        assert out.returncode == 0, (name, out.stderr)
