"""The two known breakages of the pinned stack, and their fixes in mmowp.utils.compat."""
import numpy as np
import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader, load_checkpoint, save_checkpoint

import mmowp  # noqa: F401
from mmowp.utils import lvis_numpy_shim


def _checkpoint_with_numpy_meta(path) -> None:
    # MMEngine checkpoints carry numpy objects in meta / message_hub; torch>=2.6's default
    # weights_only=True refuses to unpickle them.
    model = torch.nn.Linear(2, 2)
    save_checkpoint(dict(state_dict=model.state_dict(),
                         meta=dict(seed=np.int64(3), hist=np.arange(3.0))), str(path))


def test_plain_torch_load_rejects_mmengine_checkpoints(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _checkpoint_with_numpy_meta(path)
    with pytest.raises(Exception, match='[Ww]eights only'):
        torch.load(path, weights_only=True)


def test_mmengine_loads_local_checkpoints_after_import(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _checkpoint_with_numpy_meta(path)
    model = torch.nn.Linear(2, 2)
    ckpt = load_checkpoint(model, str(path), map_location='cpu')
    np.testing.assert_array_equal(ckpt['meta']['hist'], np.arange(3.0))
    assert CheckpointLoader._schemes[''].__module__ == 'mmowp.utils.compat'


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
