"""Refuse to evaluate a checkpoint that does not fit the model.

MMEngine's ``load_checkpoint`` (``load_from``, ``tools/test.py CHECKPOINT``) loads with
``strict=False`` and only *logs* missing/unexpected keys and shape mismatches. Evaluating an
OWP IoU-head config with a plain FCOS checkpoint (or a checkpoint trained with another
number of classes) then reports metrics of a half-random head without any error.
:func:`check_checkpoint_compatible` compares keys and shapes first and raises an error that
names the file, the head type the checkpoint was trained with (from its saved config) and
the offending parameters.
"""
from typing import List, Optional

import torch.nn as nn
from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint


def _saved_head_type(checkpoint: dict) -> Optional[str]:
    cfg_text = (checkpoint.get('meta') or {}).get('cfg')
    if not isinstance(cfg_text, str):
        return None
    try:
        head = Config.fromstring(cfg_text, '.py').get('model', {}).get('bbox_head', {})
    except Exception:  # an unreadable saved config only loses the hint
        return None
    return head.get('type') if isinstance(head, dict) else None


def _short(keys: List[str], n: int = 8) -> str:
    return ', '.join(keys[:n]) + (f' ... ({len(keys)} in total)' if len(keys) > n else '')


def check_checkpoint_compatible(model: nn.Module, filename: str) -> None:
    """Raise ``ValueError`` when ``filename`` does not hold every weight of ``model``.

    Args:
        model (nn.Module): The built model (a wrapper is unwrapped).
        filename (str): The checkpoint file.
    """
    if is_model_wrapper(model):
        model = model.module
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{filename} is not a model checkpoint (no state_dict)')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}' for k in own
                  if k in state and hasattr(state[k], 'shape')
                  and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or mismatched):
        return
    head = _saved_head_type(checkpoint)
    ours = type(getattr(model, 'bbox_head', model)).__name__
    msg = [f'checkpoint {filename} does not fit the model of this config'
           + (f' (it was trained with bbox_head {head}, the config builds {ours})'
              if head else '')]
    if missing:
        msg.append(f'missing in the checkpoint: {_short(missing)}')
    if mismatched:
        msg.append(f'shape mismatch: {_short(mismatched)}')
    if unexpected:
        msg.append(f'not used by the model: {_short(unexpected)}')
    raise ValueError('; '.join(msg))
