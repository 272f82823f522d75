"""The two known breakages of the pinned stack, and their fixes in mmowp.utils.compat."""
import os
import pickle
import uuid

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint

import mmowp  # noqa: F401
from mmowp.utils import load_from_local_mmengine, lvis_numpy_shim
from mmowp.utils.compat import mmengine_checkpoint_globals


class _TinyModel(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.fc(torch.stack(inputs))
        return dict(loss=out.pow(2).mean()) if mode == 'loss' else out


def _runner(work_dir, max_iters, seed=3, **kwargs) -> Runner:
    data = [dict(inputs=torch.randn(2, generator=torch.Generator().manual_seed(i)))
            for i in range(8)]
    return Runner(
        model=_TinyModel(), work_dir=str(work_dir), experiment_name=f'compat-{uuid.uuid4().hex}',
        train_dataloader=dict(dataset=data, sampler=dict(type='DefaultSampler', shuffle=False),
                              batch_size=2, collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(type='MultiStepLR', by_epoch=False, milestones=[1], gamma=0.5),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', by_epoch=False,
                                           interval=max_iters)),
        randomness=dict(seed=seed), default_scope='mmdet', **kwargs)  # as mmowp configs


@pytest.fixture(scope='module')
def mmengine_checkpoint(tmp_path_factory) -> str:
    """A checkpoint written by MMEngine's Runner: weights, SGD momentum, the scheduler, the
    message hub (HistoryBuffer objects) and numpy values in its meta and log scalars."""
    work = tmp_path_factory.mktemp('compat')
    _runner(work, max_iters=2).train()
    return str(work / 'iter_2.pth')


def test_plain_torch_load_rejects_mmengine_checkpoints(mmengine_checkpoint):
    with pytest.raises(pickle.UnpicklingError, match='[Ww]eights only'):
        torch.load(mmengine_checkpoint, weights_only=True)


def test_load_from_and_resume_load_mmengine_checkpoints(mmengine_checkpoint, tmp_path):
    """``load_from`` and ``resume`` (and ``tools/test.py`` / ``mim test``, which load through
    the same ``CheckpointLoader``) read a checkpoint MMEngine wrote, under the default
    ``weights_only=True`` of torch >= 2.6."""
    assert CheckpointLoader._schemes[''] is load_from_local_mmengine
    model = torch.nn.Module()
    model.fc = torch.nn.Linear(2, 2)
    ckpt = load_checkpoint(model, mmengine_checkpoint, map_location='cpu')
    torch.testing.assert_close(model.fc.weight, ckpt['state_dict']['fc.weight'])
    assert isinstance(ckpt['message_hub']['log_scalars']['train/loss'], HistoryBuffer)

    # another seed: a run that did not resume would log other losses
    resumed = _runner(tmp_path, max_iters=3, seed=4, resume=True, load_from=mmengine_checkpoint)
    resumed.train()
    # the message hub, the scheduler and the optimizer went on from the checkpoint's state
    losses = resumed.message_hub.get_scalar('train/loss').data[0]
    saved = ckpt['message_hub']['log_scalars']['train/loss'].data[0]
    assert len(saved) == 2 and len(losses) == 3
    np.testing.assert_array_equal(losses[:2], saved)
    assert resumed.param_schedulers[0].state_dict()['_global_step'] == 3
    state = resumed.optim_wrapper.optimizer.state_dict()['state']
    assert state and all('momentum_buffer' in s for s in state.values())


def test_the_allowlist_is_scoped_to_mmengine_loads(mmengine_checkpoint):
    """Only MMEngine's local loads allow the extra types: torch.load elsewhere in the process
    keeps torch's defaults, and nothing is added to torch's global allowlist."""
    load_checkpoint(torch.nn.Linear(2, 2), mmengine_checkpoint, map_location='cpu',
                    strict=False)
    allowed = torch.serialization.get_safe_globals()
    assert not [g for g in mmengine_checkpoint_globals() if g in allowed]
    with pytest.raises(pickle.UnpicklingError):
        torch.load(mmengine_checkpoint)


class _Payload:
    """Unpickling this writes a file: what an untrusted pickle could do."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


def test_other_objects_are_refused_and_never_run(tmp_path):
    path, marker = str(tmp_path / 'evil.pth'), str(tmp_path / 'ran')
    torch.save(dict(state_dict={}, meta=dict(x=_Payload(marker))), path)
    with pytest.raises(pickle.UnpicklingError, match='evil.pth'):
        load_checkpoint(torch.nn.Linear(2, 2), path)
    assert not os.path.exists(marker)


def test_missing_local_checkpoint_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        load_checkpoint(torch.nn.Linear(2, 2), str(tmp_path / 'nope.pth'))


def _lvis_eval_of_ground_truth(ann_file: str) -> float:
    from lvis import LVIS, LVISEval, LVISResults
    gt = LVIS(ann_file)
    dets = [dict(image_id=a['image_id'], category_id=a['category_id'], bbox=a['bbox'],
                 score=1.0) for a in gt.dataset['annotations']]
    ev = LVISEval(gt, LVISResults(gt, dets), iou_type='bbox')
    ev.run()
    return ev.results['AP']


@pytest.mark.skipif(np.__version__.startswith('1.'), reason='np.float exists in numpy 1.x')
def test_lvis_eval_needs_the_shim_and_it_is_scoped(tiny_owd):
    from mmowp.datasets.generate import annotation_files
    ann_file = annotation_files(tiny_owd)['lvis_val']
    with pytest.raises(AttributeError, match='float'):
        _lvis_eval_of_ground_truth(ann_file)
    with lvis_numpy_shim():
        assert _lvis_eval_of_ground_truth(ann_file) == pytest.approx(1.0)
    assert 'float' not in np.__dict__
