"""Freeze parameters by config: no gradient, no optimizer state, stable across resume.

FCOS-OWP Appendix A (Table 3) compares OWP-aware classification recipes in which parts of an
OWP-pretrained FCOS are *frozen*: the localisation branches ("frozen": "instead of a reduced
learning rate on the localization branches, we freeze the localization branches completely")
and, in the ``fb`` variants ("whether a frozen backbone will help performance (indicated by the
fb suffix)"), the backbone as well -- which FCOS-OWP §3.1 defines as "a ResNet [18] Feature
Pyramid Network (FPN) backbone", i.e. ``backbone.`` *and* ``neck.``.
:class:`FreezeOptimWrapperConstructor` is MMEngine's ``DefaultOptimWrapperConstructor`` plus one
``paramwise_cfg`` key, ``frozen_keys``::

    optim_wrapper = dict(
        constructor='FreezeOptimWrapperConstructor',
        optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
        paramwise_cfg=dict(
            frozen_keys=['backbone.', 'neck.', 'bbox_head.reg_convs', 'bbox_head.conv_reg',
                         'bbox_head.scales', 'bbox_head.conv_iou'],
            custom_keys={'bbox_head.conv_cls': dict(lr_mult=1.0)}))

Every parameter whose full name (``model.named_parameters()``) contains one of the keys --
substring match, as MMEngine's ``custom_keys`` -- gets ``requires_grad=False`` and is left out
of the optimizer, so it receives no gradient, no weight decay and has no optimizer state. The
other ``paramwise_cfg`` options (``custom_keys``, ``bias_lr_mult``...) apply to the remaining
parameters exactly as in MMEngine. Because the constructor runs whenever the runner builds the
optimizer (fresh start, ``load_from`` and ``resume``), freezing is part of the config and
survives resume: the resumed optimizer has the same parameter groups as the saved one.

Notes:
    * A key that matches no parameter raises ``ValueError`` (a typo must not silently train
      what should be frozen).
    * Freezing parameters does not freeze normalisation statistics: a BatchNorm layer in train
      mode keeps updating its running mean/var, which changes the outputs of a "frozen"
      module. The module's own switch keeps them fixed (mmdet's ResNet ``frozen_stages=4``
      puts the frozen stages in eval mode; ``norm_eval=True`` every BN layer). The constructor
      checks it: a norm layer with running statistics whose parameters are all frozen, or that
      has no parameters and lies under a frozen key, must be in eval mode after
      ``model.train()``, else ``ValueError`` names it. GroupNorm (the FCOS head) and an FPN
      without norm layers have no running statistics.
    * Under DDP the model is wrapped before the optimizer is built, so parameters frozen here
      are still registered with DDP's reducer: the wrapper must be built with
      ``find_unused_parameters=True`` (``model_wrapper_cfg``), otherwise this constructor
      raises with that instruction.
"""
import logging
from typing import List, Optional, Sequence

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch.nn.modules.batchnorm import _NormBase


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class FreezeOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` that freezes the parameters named in ``frozen_keys``.

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config (with ``optimizer``).
        paramwise_cfg (dict, optional): MMEngine's parameter-wise options plus
            ``frozen_keys`` (list[str]): substrings of the full parameter names to freeze.
            Defaults to None (nothing frozen; identical to the default constructor except that
            parameters already having ``requires_grad=False`` are left out of the optimizer).
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        frozen_keys = paramwise_cfg.pop('frozen_keys', ())
        if isinstance(frozen_keys, str) or not all(
                isinstance(k, str) and k for k in frozen_keys):
            raise TypeError('paramwise_cfg.frozen_keys must be a list of non-empty strings, '
                            f'got {frozen_keys!r}')
        # An empty paramwise_cfg makes MMEngine hand model.parameters() to the optimizer,
        # frozen ones included; an empty custom_keys forces the per-parameter path, which
        # skips parameters with requires_grad=False and otherwise changes nothing.
        paramwise_cfg.setdefault('custom_keys', {})
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        self.frozen_keys = tuple(frozen_keys)

    def freeze(self, model: nn.Module) -> List[str]:
        """Set ``requires_grad=False`` on the parameters matching ``frozen_keys``.

        Args:
            model (nn.Module): The (unwrapped) model.

        Returns:
            list[str]: Names of the frozen parameters.
        """
        names = [name for name, _ in model.named_parameters()]
        unmatched = [k for k in self.frozen_keys if not any(k in n for n in names)]
        if unmatched:
            raise ValueError(f'paramwise_cfg.frozen_keys {unmatched} match no parameter of '
                             f'{type(model).__name__} (parameter names look like '
                             f'{names[:3]} ... {names[-2:]})')
        frozen = []
        for name, param in model.named_parameters():
            if any(k in name for k in self.frozen_keys):
                param.requires_grad_(False)
                frozen.append(name)
        return frozen

    def check_norm_statistics(self, model: nn.Module, frozen: Sequence[str]) -> None:
        """Raise if a frozen norm layer would still update its running statistics.

        The check runs ``model.train()`` (as the training loop does, so that modules such as
        mmdet's ResNet apply ``frozen_stages``/``norm_eval``) and restores every module's
        previous mode afterwards.

        Args:
            model (nn.Module): The (unwrapped) model, after :meth:`freeze`.
            frozen (Sequence[str]): Names of the frozen parameters.

        Raises:
            ValueError: Naming the norm layers that would stay in train mode.
        """
        frozen = set(frozen)
        modes = [(m, m.training) for m in model.modules()]
        try:
            model.train(True)
            offenders = []
            for name, module in model.named_modules():
                if not (isinstance(module, _NormBase) and module.track_running_stats
                        and module.training):
                    continue
                own = [f'{name}.{p}' for p, _ in module.named_parameters(recurse=False)]
                if (own and all(p in frozen for p in own)) or (
                        not own and any(k in f'{name}.' for k in self.frozen_keys)):
                    offenders.append(name)
        finally:
            for module, mode in modes:
                module.training = mode
        if offenders:
            raise ValueError(
                f'paramwise_cfg.frozen_keys {list(self.frozen_keys)} freeze the parameters of '
                f'{len(offenders)} norm layers that update their running statistics in train '
                f'mode ({offenders[:3]}{" ..." if len(offenders) > 3 else ""}), so the frozen '
                'part would still change. Put them in eval mode in the model config (mmdet '
                'ResNet: frozen_stages=4 and norm_eval=True).')

    def __call__(self, model: nn.Module) -> OptimWrapper:
        inner = model.module if hasattr(model, 'module') else model
        ddp_strict = hasattr(model, 'find_unused_parameters') and \
            not model.find_unused_parameters
        if self.frozen_keys and ddp_strict:
            raise RuntimeError(
                'FreezeOptimWrapperConstructor: the model is wrapped by DDP with '
                'find_unused_parameters=False; frozen parameters were registered with DDP '
                'before freezing. Set model_wrapper_cfg=dict(type=\'MMDistributedDataParallel\','
                ' find_unused_parameters=True) in the config.')
        frozen = self.freeze(inner) if self.frozen_keys else []
        if self.frozen_keys:
            self.check_norm_statistics(inner, frozen)
        if frozen:
            num = sum(p.numel() for n, p in inner.named_parameters() if n in set(frozen))
            print_log(f'FreezeOptimWrapperConstructor: froze {len(frozen)} parameter tensors '
                      f'({num} values) matching {list(self.frozen_keys)}; they are not in the '
                      'optimizer', logger='current', level=logging.INFO)
        return super().__call__(model)

    @staticmethod
    def frozen_parameter_names(model: nn.Module, keys: Sequence[str]) -> List[str]:
        """Names of the parameters of ``model`` that ``keys`` would freeze (for tools/tests)."""
        return [n for n, _ in model.named_parameters() if any(k in n for k in keys)]
