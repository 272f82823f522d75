"""Start an mmowp model from other weights (mmdet's model zoo) with ``load_from``.

MMEngine's ``load_from`` loads non-strictly: parameters missing from the checkpoint keep
their initialisation, tensors of another shape are skipped, and both are reported in one
long warning that is easy to miss. Started from a stock mmdet FCOS checkpoint (e.g.
``fcos_r50-caffe_fpn_gn-head_1x_coco``), an OWP model has

* **new branches**: the IoU objectness branch (``bbox_head.conv_iou``) is not in the
  checkpoint, and the conditional objectness branches (``conditional=True``) read
  ``feat_channels + 4`` channels where FCOS's centerness conv reads ``feat_channels``.
  They start from their initialisation;
* a **classifier of another size** when the class counts differ (80 COCO classes in the
  checkpoint, 20 VOC base classes in the config). Loading it is impossible and silently
  keeping a random classifier is rarely what is meant (the OWP recipe freezes the
  classifier, ``train_cls=False``), so it is an error unless the config names it in
  ``load_from_drop`` (e.g. ``load_from_drop = ['bbox_head.conv_cls']``), which starts it
  from its initialisation;
* everything else (backbone, neck, towers, regression, scales) loaded.

:func:`adapt_checkpoint` does this on the loaded checkpoint before MMEngine copies it
into the model, and logs one line naming what was initialised, dropped and not used.
:class:`LoadFromAdapterHook` runs it in ``after_load_checkpoint``; ``tools/train.py`` (and
``mim train mmowp``) add the hook whenever the config sets ``load_from``.

Caution: weights trained on all 80 COCO classes have seen the novel classes of the COCO
VOC -> non-VOC split, so they do not give a valid open-world result on that split; use
them for your own data or for cross-dataset settings.
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper

#: Config key (top level) listing checkpoint tensors to drop when their shape differs.
DROP_KEY = 'load_from_drop'


def _module_of(key: str) -> str:
    return key.rsplit('.', 1)[0]


def _group(keys: Sequence[str], n: int = 6) -> str:
    mods = list(dict.fromkeys(_module_of(k) for k in keys))
    return ', '.join(mods[:n]) + (f' ... ({len(mods)} modules)' if len(mods) > n else '')


def _conditional_input(model: nn.Module, key: str, ckpt_shape: Tuple[int, ...],
                       own_shape: Tuple[int, ...]) -> bool:
    """Whether ``key`` is a conditional objectness conv whose 4 extra inputs are new."""
    parent = model
    for name in _module_of(key).split('.')[:-1]:
        parent = getattr(parent, name, None)
        if parent is None:
            return False
    return (bool(getattr(parent, 'conditional', False))
            and _module_of(key).rsplit('.', 1)[-1] in ('conv_centerness', 'conv_iou')
            and key.endswith('.weight') and len(own_shape) == 4 and len(ckpt_shape) == 4
            and own_shape[1] == ckpt_shape[1] + 4
            and own_shape[:1] + own_shape[2:] == ckpt_shape[:1] + ckpt_shape[2:])


def _mismatch_text(key: str, ckpt_shape: Tuple[int, ...], own_shape: Tuple[int, ...]) -> str:
    if _module_of(key).endswith('conv_cls') and ckpt_shape[1:] == own_shape[1:]:
        return (f'{_module_of(key)} has {ckpt_shape[0]} classes in the checkpoint and '
                f'{own_shape[0]} in the model (num_classes of the config)')
    return f'{key}: {ckpt_shape} in the checkpoint, {own_shape} in the model'


def adapt_checkpoint(model: nn.Module, checkpoint: dict,
                     drop_mismatched: Union[str, Sequence[str], None] = (),
                     filename: Optional[str] = None) -> Dict[str, List[str]]:
    """Make ``checkpoint`` fit ``model`` for ``load_from``; modify it in place.

    Parameters of the model that the checkpoint lacks, and conditional objectness convs
    whose checkpoint tensor lacks the 4 extra input channels, get the model's current
    (initialised) values; tensors the model does not have are removed; tensors of another
    shape are removed when their key starts with one of ``drop_mismatched`` and raise
    ``ValueError`` otherwise. MMEngine then loads a state dict that fits exactly, and one
    info line names what was not loaded.

    Args:
        model (nn.Module): The built model (a wrapper is unwrapped).
        checkpoint (dict): The loaded checkpoint (with or without ``state_dict``).
        drop_mismatched (str | Sequence[str]): Key prefixes (e.g.
            ``'bbox_head.conv_cls'``) whose tensors may be dropped when the shapes differ.
        filename (str, optional): The checkpoint's name, for messages.

    Returns:
        dict: Parameter keys by what happened: ``'initialised'``, ``'dropped'``,
        ``'unused'`` and ``'loaded'``.
    """
    if is_model_wrapper(model):
        model = model.module
    if isinstance(drop_mismatched, str):
        drop_mismatched = [drop_mismatched]
    drop = tuple(drop_mismatched or ())
    state = checkpoint.get('state_dict', checkpoint)
    if not isinstance(state, dict):
        raise ValueError(f'{filename or "the checkpoint"} is not a model checkpoint '
                         '(no state_dict)')
    for key in [k for k in state if k.startswith('module.')]:
        state[key[len('module.'):]] = state.pop(key)
    own = model.state_dict()
    report: Dict[str, List[str]] = dict(initialised=[], dropped=[], unused=[], loaded=[])
    new_inputs, errors, error_mods, notes = [], [], [], []
    for key, value in own.items():
        if key not in state:
            report['initialised'].append(key)
            continue
        theirs = state[key]
        if not hasattr(theirs, 'shape') or tuple(theirs.shape) == tuple(value.shape):
            report['loaded'].append(key)
            continue
        shapes = (tuple(theirs.shape), tuple(value.shape))
        if _conditional_input(model, key, *shapes):
            report['initialised'].append(key)
            new_inputs.append(f'{_module_of(key)} ({shapes[1][1]} input channels, '
                              f'{shapes[0][1]} in the checkpoint)')
        elif any(key == p or key.startswith(p.rstrip('.') + '.') for p in drop):
            report['dropped'].append(key)
            notes.append(_mismatch_text(key, *shapes))
        else:
            errors.append(_mismatch_text(key, *shapes))
            error_mods.append(_module_of(key))
    report['unused'] = [k for k in state if k not in own]
    if errors:
        errors = list(dict.fromkeys(errors))
        raise ValueError(
            f'load_from {filename or ""}: ' + '; '.join(errors) + '. These layers cannot '
            'be loaded. To start them from their initialisation instead, name them in the '
            f'config: {DROP_KEY} = {list(dict.fromkeys(error_mods))!r}'
            f" (or --cfg-options {DROP_KEY}=...), or set the config's num_classes to the "
            "checkpoint's.")
    for key in report['initialised'] + report['dropped']:
        state[key] = own[key].detach().clone()
    for key in report['unused']:
        state.pop(key)
    if report['initialised'] or report['dropped'] or report['unused']:
        plain_new = [k for k in report['initialised'] if not any(
            k.startswith(n.split(' ')[0] + '.') for n in new_inputs)]
        parts = [f'loaded {len(report["loaded"])} of {len(own)} tensors']
        if plain_new or new_inputs:
            parts.append('initialised the new branches ' + ', '.join(
                ([f'{_group(plain_new)} (not in the checkpoint)'] if plain_new else [])
                + new_inputs))
        if report['dropped']:
            parts.append(f'dropped ({DROP_KEY}) ' + '; '.join(dict.fromkeys(notes)))
        if report['unused']:
            parts.append(f'not used by the model: {_group(report["unused"])}')
        print_log(f'load_from {filename or ""}: ' + '; '.join(parts), logger='current',
                  level=logging.INFO)
    return report


@HOOKS.register_module()
class LoadFromAdapterHook(Hook):
    """Apply :func:`adapt_checkpoint` to the checkpoint MMEngine loads (``load_from``).

    A checkpoint that fits the model exactly (``--resume``, a checkpoint of the same
    config) passes unchanged and silently.

    Args:
        drop_mismatched (str | Sequence[str]): Key prefixes whose tensors may be dropped
            when their shapes differ (the config's ``load_from_drop``). Defaults to ().
    """

    priority = 'VERY_HIGH'

    def __init__(self, drop_mismatched: Union[str, Sequence[str], None] = ()) -> None:
        self.drop_mismatched = drop_mismatched

    def after_load_checkpoint(self, runner: object, checkpoint: dict) -> None:
        """Adapt ``checkpoint`` to ``runner.model`` before MMEngine loads it."""
        adapt_checkpoint(runner.model, checkpoint, self.drop_mismatched,
                         filename=getattr(runner, '_load_from', None))


def add_load_from_adapter(cfg: 'Config') -> None:  # noqa: F821
    """Add :class:`LoadFromAdapterHook` to ``cfg.custom_hooks`` when ``cfg.load_from`` is
    set (and the config does not list the hook itself), with ``cfg.load_from_drop``.

    Args:
        cfg (Config): The run's config; modified in place.
    """
    if not cfg.get('load_from') or cfg.get('resume'):
        return
    hooks = list(cfg.get('custom_hooks') or [])
    if any(isinstance(h, dict) and h.get('type') in ('LoadFromAdapterHook', LoadFromAdapterHook)
           for h in hooks):
        return
    hooks.append(dict(type='LoadFromAdapterHook', drop_mismatched=cfg.get(DROP_KEY) or ()))
    cfg.custom_hooks = hooks


__all__ = ['adapt_checkpoint', 'LoadFromAdapterHook', 'add_load_from_adapter', 'DROP_KEY']
