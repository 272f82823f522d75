"""Load a model + dataset from a config and a checkpoint, and run it on chosen images."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.registry import DATASETS, MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.runner import load_checkpoint

from ..utils.checkpoint import check_checkpoint_compatible
from ..utils.config import apply_data_root


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
        data_root (str, optional): Moves every dataset and evaluator (``apply_data_root``).
        cfg_options (dict, optional): Merged into the config.

    Returns:
        tuple: model (eval mode, CPU), dataset, config.
    """
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    apply_data_root(cfg, data_root)
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
