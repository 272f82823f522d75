"""Runs that go wrong stop with a message that says what, where and when, and never leave a
work directory that cannot be resumed.

* Divergence: a NaN/inf loss stops training at that iteration with an error naming the
  iteration and the loss term (``CheckInvalidLossTermHook``, in every config). The oracle
  is a hook of higher priority that records every iteration's logged loss terms.
* Checkpoints: a write cut short (half a file then an error in process; half a file then
  SIGKILL in a subprocess) leaves the previous checkpoint complete and named by
  ``last_checkpoint`` (``AtomicCheckpointHook``); MMEngine's own ``CheckpointHook`` loses it
  in the same situation (``max_keep_ckpts=1``), shown as the contrast. ``--resume`` skips a
  truncated ``last_checkpoint`` target, names it, and resumes from the previous complete one.
* Images: truncated and empty files are named (path and image id) by
  ``CheckedLoadImageFromFile``, in a dataloader worker too, or skipped with a count
  (``skip_undecodable=True``); complete images load exactly as with MMCV's
  ``LoadImageFromFile``.
"""
import glob
import os
import os.path as osp
import re
import shutil
import signal
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import HOOKS, TRANSFORMS
from mmengine.config import Config
from mmengine.fileio import LocalBackend
from mmengine.hooks import Hook
from mmengine.runner import Runner

import mmowp  # noqa: F401
from mmowp.datasets.transforms import CheckedLoadImageFromFile, ImageDecodeError
from mmowp.engine.hooks import AtomicCheckpointHook, CheckInvalidLossTermHook, InvalidLossError
from mmowp.utils.checkpoint import (
    check_checkpoint_complete,
    checkpoint_problem,
    find_resumable_checkpoint,
)
from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT, REPO_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy', 'fcos_r18_fpn_1500it_owd-shapes.py')


def _toy_cfg(data_root: str, work_dir: str, iters: int, ckpt_interval: int = 2,
             max_keep: int = 1) -> Config:
    cfg = Config.fromfile(TOY)
    apply_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.train_dataloader.batch_size = 2
    cfg.default_hooks.checkpoint.interval = ckpt_interval
    cfg.default_hooks.checkpoint.max_keep_ckpts = max_keep
    cfg.default_hooks.logger.interval = 1
    cfg.param_scheduler = []
    return cfg


def _env() -> dict:
    env = dict(os.environ, OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = REPO_ROOT + os.pathsep + env.get('PYTHONPATH', '')
    return env


def _run(args: list, expect_rc: int = 0) -> str:
    out = subprocess.run(args, cwd=REPO_ROOT, env=_env(), capture_output=True, text=True,
                         timeout=600)
    log = out.stdout + out.stderr
    assert out.returncode == expect_rc, log[-4000:]
    return log


# ================================================================ every config
def _all_configs() -> list:
    return sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True)
                  if f'{os.sep}_base_{os.sep}' not in p)


def test_every_config_checks_the_loss_and_saves_atomically():
    configs = _all_configs()
    assert len(configs) > 50
    missing_loss_check, plain_checkpoints = [], []
    for path in configs:
        cfg = Config.fromfile(path)
        hooks = [h.get('type') for h in cfg.get('custom_hooks') or []]
        if 'CheckInvalidLossTermHook' not in hooks:
            missing_loss_check.append(osp.relpath(path, CONFIG_ROOT))
        if cfg.default_hooks.checkpoint.type != 'AtomicCheckpointHook':
            plain_checkpoints.append(osp.relpath(path, CONFIG_ROOT))
    assert not missing_loss_check, f'no CheckInvalidLossTermHook in {missing_loss_check}'
    assert not plain_checkpoints, f'checkpoint hook is not atomic in {plain_checkpoints}'
    # and the names resolve to the classes (mmdet scope, as the configs use)
    assert HOOKS.get('CheckInvalidLossTermHook') is CheckInvalidLossTermHook
    assert HOOKS.get('AtomicCheckpointHook') is AtomicCheckpointHook


def test_dataset_bases_load_images_with_the_checked_transform():
    for path in sorted(glob.glob(osp.join(CONFIG_ROOT, '_base_', 'datasets', '*.py'))):
        cfg = Config.fromfile(path)
        for name in ('train_pipeline', 'test_pipeline'):
            assert cfg[name][0]['type'] == 'CheckedLoadImageFromFile', (path, name)
    assert TRANSFORMS.get('CheckedLoadImageFromFile') is CheckedLoadImageFromFile


# ================================================================ divergence
class _Record(Hook):
    """Records the logged loss terms of every iteration before any other hook runs."""
    priority = 'HIGHEST'

    def __init__(self):
        self.rows = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.rows.append({k: float(v) for k, v in outputs.items()})


class _InfWeightAt(Hook):
    """From iteration ``at`` (1-based) on, multiply loss_centerness by inf."""

    def __init__(self, at: int):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            runner.model.bbox_head.loss_centerness.loss_weight = float('inf')


def _diverging_runner(tiny_owd, work, iters, lr_factor=1.0):
    cfg = _toy_cfg(tiny_owd, work, iters=iters, ckpt_interval=1, max_keep=-1)
    # plain SGD at lr_factor x the FCOS lr 0.01 (the toy recipe's AdamW normalises its steps
    # and does not diverge)
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=0.01 * lr_factor, momentum=0.9,
                                       weight_decay=1e-4)
    # no gradient clipping: clipped steps keep even a 100x rate finite on the toy
    cfg.optim_wrapper.clip_grad = None
    runner = Runner.from_cfg(cfg)
    record = _Record()
    runner.register_hook(record)
    return runner, record


def test_loss_term_turning_inf_stops_at_that_iteration(tiny_owd, tmp_path):
    work = str(tmp_path / 'inf')
    runner, record = _diverging_runner(tiny_owd, work, iters=8)
    runner.register_hook(_InfWeightAt(3))
    with pytest.raises(InvalidLossError) as err:
        runner.train()
    msg = str(err.value)
    # oracle: the recorded iterations
    assert len(record.rows) == 3
    assert all(np.isfinite(v) for row in record.rows[:2] for v in row.values())
    bad = sorted(k for k, v in record.rows[2].items()
                 if k != 'loss' and 'loss' in k and not np.isfinite(v))
    assert bad == ['loss_centerness'], record.rows[2]
    assert msg.startswith('Training diverged at iteration 3: '), msg
    assert 'loss_centerness=inf' in msg and 'loss_cls' not in msg and 'loss_bbox' not in msg
    # the hook stops before CheckpointHook of the same iteration: no diverged checkpoint
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert not osp.isfile(osp.join(work, 'iter_3.pth'))


def test_learning_rate_far_too_high_stops_with_the_diverged_terms(tiny_owd, tmp_path):
    # 1000x the FCOS lr: at 100x the toy model's losses grow (166 at iteration 40) but stay
    # finite for longer than a test should train
    work = str(tmp_path / 'lr')
    runner, record = _diverging_runner(tiny_owd, work, iters=40, lr_factor=1000)
    with pytest.raises(InvalidLossError) as err:
        runner.train()
    msg = str(err.value)
    it = int(re.match(r'Training diverged at iteration (\d+): ', msg).group(1))
    assert it == len(record.rows) < 40
    assert all(np.isfinite(v) for row in record.rows[:-1] for v in row.values())
    named = sorted(re.findall(r'(loss_\w+)=', msg.split(' at lr=')[0]))
    bad = sorted(k for k, v in record.rows[-1].items()
                 if k != 'loss' and 'loss' in k and not np.isfinite(v))
    assert named == bad and bad, (msg, record.rows[-1])
    assert 'lr=10' in msg  # the lr of the diverging iteration, as a hint


def test_invalid_loss_check_keeps_mmdet_interval():
    class _Runner:
        iter = 3  # 0-based: the 4th iteration, not checked with interval 5
        train_loop = None

    hook = CheckInvalidLossTermHook(interval=5)
    hook.after_train_iter(_Runner(), 0, outputs={'loss': torch.tensor(float('nan'))})
    _Runner.iter = 4  # the 5th is checked
    hook.after_train_iter(_Runner(), 0, outputs={'loss': torch.tensor(1.0)})
    with pytest.raises(InvalidLossError, match='iteration 5: loss=inf with the sum of the '
                       r'finite loss terms overflowed \(loss_a=3.4e\+38, loss_b=3.4e\+38\)'):
        hook.after_train_iter(_Runner(), 0, outputs={
            'loss': torch.tensor(float('inf')), 'loss_a': torch.tensor(3.4e38),
            'loss_b': torch.tensor(3.4e38)})
    _Runner.iter = 9
    with pytest.raises(InvalidLossError, match=r'iteration 10: loss=nan with non-finite '
                       r'loss term\(s\) loss_a=nan'):
        hook.after_train_iter(_Runner(), 0, outputs={
            'loss': torch.tensor(float('nan')), 'loss_a': torch.tensor(float('nan')),
            'loss_b': torch.tensor(2.0), 'acc': torch.tensor(float('nan'))})


# ================================================================ checkpoints
def _half_write_then_fail(monkeypatch, name_part: str) -> None:
    """Checkpoint writes whose path contains ``name_part`` write half the bytes, then
    fail as a full disk would."""
    put = LocalBackend.put

    def broken_put(self, obj, filepath):
        if name_part in osp.basename(str(filepath)):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise OSError(28, 'No space left on device (simulated)')
        return put(self, obj, filepath)

    monkeypatch.setattr(LocalBackend, 'put', broken_put)


def _last(work: str) -> str:
    with open(osp.join(work, 'last_checkpoint')) as f:
        return f.read().strip()


def test_checkpoint_problem_flags_every_truncation(tmp_path):
    path = str(tmp_path / 'full.pth')
    torch.save({'state_dict': {'w': torch.arange(5000.)}, 'meta': {'iter': 3}}, path)
    assert checkpoint_problem(path) is None
    data = open(path, 'rb').read()
    cut = str(tmp_path / 'cut.pth')
    for n in [0, 1, 10, 100] + list(range(1000, len(data), max(1, len(data) // 25))) + [
            len(data) - 1]:
        with open(cut, 'wb') as f:
            f.write(data[:n])
        problem = checkpoint_problem(cut)
        assert problem is not None, n
        try:  # independent oracle: torch cannot load it either
            torch.load(cut, weights_only=False)
        except Exception:  # noqa: BLE001
            pass
        else:
            pytest.fail(f'torch loads the first {n} bytes')
        with pytest.raises(ValueError, match=f'checkpoint {re.escape(cut)} (is|cannot)'):
            check_checkpoint_complete(cut)
    assert checkpoint_problem(str(tmp_path / 'none.pth')) == 'does not exist'


@pytest.mark.parametrize('hook_type', ['AtomicCheckpointHook', 'CheckpointHook'])
def test_checkpoint_write_cut_short(tiny_owd, tmp_path, monkeypatch, hook_type):
    work = str(tmp_path / hook_type)
    cfg = _toy_cfg(tiny_owd, work, iters=3, ckpt_interval=1)  # saves 1, 2, 3; keeps 1
    cfg.default_hooks.checkpoint.type = hook_type
    _half_write_then_fail(monkeypatch, 'iter_2')
    with pytest.raises(OSError, match='No space left'):
        Runner.from_cfg(cfg).train()
    monkeypatch.undo()
    if hook_type == 'CheckpointHook':
        # MMEngine deletes iter_1.pth before writing iter_2.pth: nothing complete is left
        assert not osp.isfile(osp.join(work, 'iter_1.pth'))
        assert checkpoint_problem(osp.join(work, 'iter_2.pth')).startswith('is truncated')
        with pytest.raises(ValueError, match='no complete checkpoint'):
            find_resumable_checkpoint(work)
        return
    assert sorted(os.listdir(work))[-2:] == ['iter_1.pth', 'last_checkpoint'], os.listdir(work)
    assert not glob.glob(osp.join(work, '*.tmp*'))
    assert _last(work) == osp.join(work, 'iter_1.pth')
    assert checkpoint_problem(osp.join(work, 'iter_1.pth')) is None
    found = find_resumable_checkpoint(work)
    assert found == osp.join(work, 'iter_1.pth')
    cfg = _toy_cfg(tiny_owd, work, iters=3, ckpt_interval=1)
    cfg.resume, cfg.load_from = True, found
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 3
    assert torch.load(osp.join(work, 'iter_3.pth'), weights_only=False)['meta']['iter'] == 3
    assert not glob.glob(osp.join(work, 'iter_[12].pth'))  # max_keep_ckpts=1 still applies
    assert _last(work) == osp.join(work, 'iter_3.pth')


# Trains the dumped config; the write of iter_2's checkpoint writes half of it, flushes it to
# disk and SIGKILLs the process, as a killed job or a preempted node does.
_KILLED_MID_WRITE = '''
import os, signal, sys
sys.path.insert(0, {repo!r})
from mmengine.config import Config
from mmengine.fileio import LocalBackend
from mmengine.runner import Runner
import mmowp  # noqa

put = LocalBackend.put


def killed_put(self, obj, filepath):
    if 'iter_2' in os.path.basename(str(filepath)):
        with open(filepath, 'wb') as f:
            f.write(obj[:len(obj) // 2])
            f.flush()
            os.fsync(f.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
    return put(self, obj, filepath)


LocalBackend.put = killed_put
cfg = Config.fromfile(sys.argv[1])
cfg.work_dir = sys.argv[2]
Runner.from_cfg(cfg).train()
'''


def test_killed_mid_write_resumes_with_train_py(tiny_owd, tmp_path):
    work = str(tmp_path / 'killed')
    cfg_path = str(tmp_path / 'cfg.py')
    _toy_cfg(tiny_owd, work, iters=3, ckpt_interval=1).dump(cfg_path)
    _run([sys.executable, '-c', _KILLED_MID_WRITE.format(repo=REPO_ROOT), cfg_path, work],
         expect_rc=-signal.SIGKILL)
    left = sorted(os.listdir(work))
    assert 'iter_1.pth' in left and 'iter_2.pth' not in left, left
    assert [n for n in left if n.startswith('iter_2.pth.tmp')], left  # the cut-short write
    assert _last(work) == osp.join(work, 'iter_1.pth')
    log = _run([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work, '--resume'])
    assert 'resumed epoch: 0, iter: 1' in log
    assert torch.load(osp.join(work, 'iter_3.pth'), weights_only=False)['meta']['iter'] == 3


def test_resume_skips_truncated_last_checkpoint_target(tiny_owd, tmp_path):
    work = str(tmp_path / 'truncated')
    cfg_path = str(tmp_path / 'cfg.py')
    _toy_cfg(tiny_owd, work, iters=2, ckpt_interval=1, max_keep=-1).dump(cfg_path)
    _run([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work])
    # what a power loss (or MMEngine's CheckpointHook killed mid-write after the name was
    # recorded) leaves: last_checkpoint names a file whose end never reached the disk
    ckpt2 = osp.join(work, 'iter_2.pth')
    assert _last(work) == ckpt2
    size = osp.getsize(ckpt2)
    with open(ckpt2, 'r+b') as f:
        f.truncate(size // 2)
    # --resume PATH to the truncated file: refused, naming it
    log = _run([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work, '--resume',
                ckpt2], expect_rc=1)
    assert f'checkpoint {ckpt2} is truncated ({size // 2} bytes' in log
    # --resume (auto): falls back to iter_1, saying why
    cfg = Config.fromfile(cfg_path)
    cfg.train_cfg.max_iters = 3
    cfg.dump(cfg_path)
    log = _run([sys.executable, 'tools/train.py', cfg_path, '--work-dir', work, '--resume'])
    assert re.search(rf'Resume: skipped {re.escape(ckpt2)} \(is truncated .*\)\. Resuming '
                     rf'from the previous complete checkpoint {re.escape(work)}/iter_1\.pth',
                     log), log[-3000:]
    assert 'resumed epoch: 0, iter: 1' in log
    state = torch.load(osp.join(work, 'iter_3.pth'), weights_only=False)
    assert state['meta']['iter'] == 3


def test_find_resumable_checkpoint_cases(tmp_path):
    work = str(tmp_path)
    assert find_resumable_checkpoint(work) is None  # nothing saved: train from scratch

    def save(step):
        torch.save({'meta': {'iter': step}}, osp.join(work, f'iter_{step}.pth'))

    for step in (2, 4, 6, 8):
        save(step)
    # no last_checkpoint (killed between the first checkpoint and its name): newest complete
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_8.pth')
    with open(osp.join(work, 'last_checkpoint'), 'w') as f:
        f.write(osp.join(work, 'iter_6.pth'))
    # the named one wins over a newer leftover (e.g. from an earlier run in the same dir)
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_6.pth')
    with open(osp.join(work, 'iter_6.pth'), 'wb') as f:
        f.write(b'PK\x03\x04' + b'\0' * 50)
    os.remove(osp.join(work, 'iter_4.pth'))
    assert find_resumable_checkpoint(work) == osp.join(work, 'iter_2.pth')
    open(osp.join(work, 'iter_2.pth'), 'wb').close()
    with pytest.raises(ValueError, match=r'no complete checkpoint in .*iter_6\.pth is '
                       r'truncated.*iter_2\.pth is empty \(0 bytes\)'):
        find_resumable_checkpoint(work)


# ================================================================ images
def _image(seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    img = np.zeros((48, 64, 3), np.uint8)
    img[8:40, 10:50] = rng.integers(0, 255, 3, dtype=np.uint8)
    return img + rng.integers(0, 20, img.shape, dtype=np.uint8)


def _encoded(ext: str) -> bytes:
    ok, buf = cv2.imencode(ext, _image())
    assert ok
    return buf.tobytes()


def _load(transform, path: str, img_id: int = 7):
    return transform(dict(img_path=path, img_id=img_id))


@pytest.mark.parametrize('ext', ['.png', '.jpg'])
def test_complete_images_load_as_with_mmcv(tmp_path, ext):
    path = str(tmp_path / f'ok{ext}')
    with open(path, 'wb') as f:
        f.write(_encoded(ext))
    ours = _load(CheckedLoadImageFromFile(), path)
    ref = _load(LoadImageFromFile(), path)
    np.testing.assert_array_equal(ours['img'], ref['img'])
    assert ours['img_shape'] == ref['img_shape'] == (48, 64)


@pytest.mark.parametrize('ext', ['.png', '.jpg'])
def test_truncated_and_empty_images_are_named(tmp_path, ext):
    data = _encoded(ext)
    path = str(tmp_path / f'bad{ext}')
    cuts = [0, 1, 20, len(data) // 3, len(data) // 2, len(data) - 2]
    for n in cuts:
        with open(path, 'wb') as f:
            f.write(data[:n])
        with pytest.raises(ImageDecodeError,
                           match=rf'failed to load image: {re.escape(path)} \(image id 7\): '):
            _load(CheckedLoadImageFromFile(), path)
    # the contrast: MMCV's transform on the empty file fails inside OpenCV without its name
    open(path, 'wb').close()
    with pytest.raises(Exception) as err:  # noqa: B017  (cv2.error)
        _load(LoadImageFromFile(), path)
    assert path not in str(err.value) and '!buf.empty()' in str(err.value)


def test_truncated_jpeg_caught_whatever_the_decoder(tmp_path):
    # Pillow told to accept truncated files decodes half a JPEG into grey rows, silently
    from PIL import ImageFile
    data = _encoded('.jpg')
    path = str(tmp_path / 'half.jpg')
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    old = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = True
    try:
        assert _load(LoadImageFromFile(imdecode_backend='pillow'), path)['img'].shape == (
            48, 64, 3)
        with pytest.raises(ImageDecodeError, match='JPEG has no end-of-image marker'):
            _load(CheckedLoadImageFromFile(imdecode_backend='pillow'), path)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = old


def test_corrupt_image_named_and_skip_counts(tmp_path):
    path = str(tmp_path / 'junk.png')
    with open(path, 'wb') as f:
        f.write(b'not an image' * 10)
    with pytest.raises(ImageDecodeError, match=r'image id 7\): the cv2 decoder could not'):
        _load(CheckedLoadImageFromFile(), path)
    skip = CheckedLoadImageFromFile(skip_undecodable=True)
    assert _load(skip, path) is None and _load(skip, path) is None
    assert skip.num_skipped == 2
    with pytest.raises(ImageDecodeError, match='No such file'):
        _load(CheckedLoadImageFromFile(), str(tmp_path / 'missing.png'))


@pytest.fixture()
def broken_owd(tiny_owd, tmp_path):
    """A copy of the tiny dataset whose first training image is a truncated PNG."""
    root = str(tmp_path / 'owd')
    shutil.copytree(tiny_owd, root)
    cfg = _toy_cfg(root, str(tmp_path / 'probe'), iters=1)
    from mmdet.registry import DATASETS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    ds = DATASETS.build(cfg.train_dataloader.dataset)
    info = ds.get_data_info(0)
    with open(info['img_path'], 'rb') as f:
        data = f.read()
    with open(info['img_path'], 'wb') as f:
        f.write(data[:len(data) // 2])
    return root, info['img_path'], info['img_id'], len(ds)


def test_truncated_image_named_from_a_dataloader_worker(broken_owd, tmp_path):
    root, path, img_id, _ = broken_owd
    cfg = _toy_cfg(root, str(tmp_path / 'w'), iters=20)
    cfg.train_dataloader.num_workers = 1
    cfg.train_dataloader.batch_size = 4
    with pytest.raises(ImageDecodeError) as err:
        Runner.from_cfg(cfg).train()
    msg = str(err.value)
    assert 'DataLoader worker process 0' in msg
    assert f'failed to load image: {path} (image id {img_id}): PNG has no IEND chunk' in msg


def test_skip_undecodable_switch_trains_without_the_image(broken_owd, tmp_path):
    root, path, img_id, n = broken_owd
    cfg = _toy_cfg(root, str(tmp_path / 's'), iters=6, ckpt_interval=100)
    # the documented command-line switch
    cfg.merge_from_dict({'train_dataloader.dataset.pipeline.0.skip_undecodable': True})
    assert cfg.train_dataloader.dataset.pipeline[0].skip_undecodable is True

    seen = []

    class _Ids(Hook):
        def before_train_iter(self, runner, batch_idx, data_batch=None):
            seen.extend(s.img_id for s in data_batch['data_samples'])

    runner = Runner.from_cfg(cfg)
    runner.register_hook(_Ids())
    runner.train()
    loader = runner.train_dataloader.dataset.pipeline.transforms[0]
    assert isinstance(loader, CheckedLoadImageFromFile)
    assert len(seen) == 12 and img_id not in seen
    # 6 iterations x 2 images from 12 images with one broken: it was drawn (and skipped)
    assert loader.num_skipped >= 1
    log = open(glob.glob(osp.join(runner.log_dir, '*.log'))[0]).read()
    warned = re.findall(rf'skipped undecodable image: {re.escape(path)} \(image id {img_id}\): '
                        r'PNG has no IEND chunk .*; (\d+) image\(s\) skipped so far', log)
    assert [int(c) for c in warned] == list(range(1, loader.num_skipped + 1))
