"""Run a model of a config + checkpoint: on dataset images (analysis tools) or on your own
images through mmdet's ``DetInferencer``.

``DetInferencer`` is mmdet's; importing mmowp makes it handle mmowp models
(:func:`patch_det_inferencer`, applied at import, changes nothing for other models):

* the label names of the visualizer and of ``model.dataset_meta`` are those the head
  predicts (:func:`prediction_classes`): ``('object',)`` for a class-agnostic head (not the
  first base class of the training set), the base classes plus ``'unknown'`` for a head with
  an ``unknown_score_mode``;
* a checkpoint that does not fit the model (another head type, another number of classes)
  is refused, as ``tools/test.py`` does
  (:func:`~mmowp.utils.checkpoint.check_checkpoint_compatible`);
* a test pipeline that loads images with a subclass of ``LoadImageFromFile`` (e.g. a
  checked loader) is accepted: ``DetInferencer`` looks for that exact type name.
"""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.transforms import LoadImageFromFile
from mmdet.registry import DATASETS, MODELS, TRANSFORMS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.model import is_model_wrapper
from mmengine.runner import load_checkpoint

from ..utils.checkpoint import check_checkpoint_compatible
from ..utils.config import apply_data_root, load_config, resolve_data_root


def load_model_and_data(config: str, checkpoint: Optional[str], split: str = 'test',
                        data_root: Optional[str] = None,
                        cfg_options: Optional[dict] = None) -> Tuple[torch.nn.Module, object,
                                                                      Config]:
    """Build the model (weights from ``checkpoint``) and the ``split`` dataset of a config.

    Args:
        config (str): Config file.
        checkpoint (str, optional): Checkpoint file; None keeps the initial weights.
        split (str): ``'test'``, ``'val'`` or ``'train'`` (the train dataset with the *test*
            pipeline plus annotations, i.e. no random flip).
        data_root (str, optional): Moves every dataset and evaluator (``apply_data_root``);
            without it the data is looked up as by the tools (``resolve_data_root``:
            ``MMOWP_DATA``, the working directory, the checkout).
        cfg_options (dict, optional): Merged into the config.

    Returns:
        tuple: model (eval mode, CPU), dataset, config.
    """
    register_all_modules(init_default_scope=True)
    # `mmowp::` bases, inherited variables and options reaching their copies, as the tools
    cfg = load_config(config, cfg_options, phases=())
    apply_data_root(cfg, data_root)
    resolve_data_root(cfg, phases=(split, ), search=data_root is None)
    model = MODELS.build(cfg.model)
    if checkpoint:
        check_checkpoint_compatible(model, checkpoint)
        load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    ds_cfg = copy.deepcopy(cfg[f'{split}_dataloader'].dataset)
    if split == 'train':
        ds_cfg.pipeline = copy.deepcopy(cfg.test_dataloader.dataset.pipeline)
        ds_cfg.filter_cfg = None
    ds_cfg.test_mode = True
    dataset = DATASETS.build(ds_cfg)
    return model, dataset, cfg


def pick_indices(dataset: object, image_ids: Optional[Sequence[int]] = None,
                 num: int = 4) -> List[int]:
    """Dataset indices of the given COCO image ids (all must exist), else the first ``num``."""
    if not image_ids:
        return list(range(min(num, len(dataset))))
    by_id: Dict[int, int] = {dataset.get_data_info(i)['img_id']: i for i in range(len(dataset))}
    missing = [i for i in image_ids if i not in by_id]
    if missing:
        raise ValueError(f'image ids {missing} are not in the dataset ({dataset.ann_file})')
    return [by_id[i] for i in image_ids]


@torch.no_grad()
def predict(model: torch.nn.Module, dataset: object, indices: Sequence[int]) -> list:
    """``model.test_step`` on the given dataset items, one at a time; returns data samples."""
    out = []
    for idx in indices:
        out.extend(model.test_step(pseudo_collate([dataset[idx]])))
    return out


# ----------------------------------------------------------------- DetInferencer
def is_mmowp_model(model: nn.Module) -> bool:
    """Whether ``model`` (or a module of it) is one of mmowp's classes."""
    if is_model_wrapper(model):
        model = model.module
    return any(type(m).__module__.startswith('mmowp.') for m in model.modules())


def prediction_classes(model: nn.Module, classes: Sequence[str]) -> Tuple[str, ...]:
    """The names of the labels ``model`` predicts, given the classes it was trained on.

    Args:
        model (nn.Module): A detector (its ``bbox_head`` is inspected).
        classes (Sequence[str]): The training classes (``dataset_meta['classes']``).

    Returns:
        tuple[str]: ``('object',)`` for a class-agnostic head (``class_agnostic``), the
        classes plus ``'unknown'`` (label ``num_classes``) for a head with an
        ``unknown_score_mode``, else ``classes``.
    """
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'bbox_head', None)
    classes = tuple(classes or ())
    if getattr(head, 'class_agnostic', False):
        return ('object', )
    if getattr(head, 'unknown_score_mode', None) and 'unknown' not in classes:
        return classes + ('unknown', )
    return classes


def _fit_dataset_meta(model: nn.Module) -> None:
    """Set ``model.dataset_meta['classes']`` (and a long enough palette) to
    :func:`prediction_classes`."""
    meta = dict(getattr(model, 'dataset_meta', None) or {})
    classes = prediction_classes(model, meta.get('classes') or ())
    meta['classes'] = classes
    palette = meta.get('palette')
    if isinstance(palette, (list, tuple)) and len(palette) < len(classes):
        extra = [(255, 150, 0)] * (len(classes) - len(palette))  # unknown: orange
        meta['palette'] = list(palette) + extra
    model.dataset_meta = meta


def _plain_image_loader(pipeline: list) -> None:
    """Give ``LoadImageFromFile`` subclasses in ``pipeline`` the type name (and only the
    arguments) of ``LoadImageFromFile``, which is what ``DetInferencer`` replaces."""
    accepted = set(inspect.signature(LoadImageFromFile.__init__).parameters) - {'self'}
    for i, t in enumerate(pipeline):
        kind = t.get('type') if isinstance(t, dict) else None
        cls = TRANSFORMS.get(kind) if isinstance(kind, str) else kind
        if (inspect.isclass(cls) and issubclass(cls, LoadImageFromFile)
                and cls is not LoadImageFromFile):
            pipeline[i] = type(t)({k: v for k, v in t.items() if k in accepted})
            pipeline[i]['type'] = 'LoadImageFromFile'


def patch_det_inferencer() -> None:
    """Make mmdet's ``DetInferencer`` handle mmowp models (see the module docstring).

    Two steps of ``DetInferencer`` are wrapped: ``_init_model`` (label names, checkpoint
    check) and ``_init_pipeline`` (image loader type). Models without mmowp components
    are not touched. Idempotent.
    """
    from mmdet.apis.det_inferencer import DetInferencer
    if getattr(DetInferencer, '_mmowp_patched', False):
        return
    init_model, init_pipeline = DetInferencer._init_model, DetInferencer._init_pipeline

    def _init_model(self: DetInferencer, cfg: Config, weights: Optional[str] = None,
                    device: str = 'cpu') -> nn.Module:
        model = init_model(self, cfg, weights, device)
        if is_mmowp_model(model):
            if weights is not None:
                check_checkpoint_compatible(model, weights)
            _fit_dataset_meta(model)
        return model

    def _init_pipeline(self: DetInferencer, cfg: Config) -> object:
        _plain_image_loader(cfg.test_dataloader.dataset.pipeline)
        return init_pipeline(self, cfg)

    _init_model.__doc__ = init_model.__doc__
    _init_pipeline.__doc__ = init_pipeline.__doc__
    DetInferencer._init_model = _init_model
    DetInferencer._init_pipeline = _init_pipeline
    DetInferencer._mmowp_patched = True


patch_det_inferencer()
