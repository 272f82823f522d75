"""Stop a diverging run with a message that says when and which loss term went bad.

mmdet's :class:`~mmdet.engine.hooks.CheckInvalidLossHook` stops training on a non-finite
loss with a bare ``AssertionError``; it logs ``loss become infinite or NaN!`` but neither the
iteration nor which of the summed terms (``loss_cls``, ``loss_bbox``, ``loss_centerness``,
...) failed. :class:`CheckInvalidLossTermHook` keeps its schedule (``interval``) and replaces
only the check.
"""
import math
from typing import Optional, Sequence, Union

import torch
from mmdet.engine.hooks import CheckInvalidLossHook
from mmdet.registry import HOOKS
from mmengine.runner import EpochBasedTrainLoop, Runner


class InvalidLossError(FloatingPointError):
    """Raised by :class:`CheckInvalidLossTermHook` when the training loss is NaN or inf."""


def _as_float(value: Union[torch.Tensor, float, int]) -> float:
    if isinstance(value, torch.Tensor):
        return float(value.detach().float().mean().item())
    return float(value)


@HOOKS.register_module()
class CheckInvalidLossTermHook(CheckInvalidLossHook):
    """Raise :class:`InvalidLossError` naming the iteration and the non-finite loss terms.

    The check runs after the optimizer step of the checked iteration and before
    :class:`~mmengine.hooks.CheckpointHook` (priority ``'VERY_LOW'``) of the same iteration,
    so no checkpoint with the diverged weights is written by that iteration.

    Args:
        interval (int): Check every ``interval`` iterations. The loss values are already
            copied to the host every iteration (``RuntimeInfoHook``), so ``1`` costs
            nothing measurable. Defaults to 1.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1) -> None:
        super().__init__(interval=interval)

    def after_train_iter(self,
                         runner: Runner,
                         batch_idx: int,
                         data_batch: Optional[Union[dict, tuple, list]] = None,
                         outputs: Optional[dict] = None) -> None:
        """Check ``outputs['loss']`` every ``interval`` iterations.

        Args:
            runner (:obj:`Runner`): The runner of the training process.
            batch_idx (int): The index of the current batch in the train loop.
            data_batch (dict | tuple | list, optional): Data from the dataloader.
            outputs (dict, optional): The ``log_vars`` returned by ``train_step``: the
                total ``loss`` and every logged term.
        """
        if not outputs or 'loss' not in outputs:
            return
        if not self.every_n_train_iters(runner, self.interval):
            return
        total = _as_float(outputs['loss'])
        if math.isfinite(total):
            return
        raise InvalidLossError(self.message(runner, outputs, total))

    @staticmethod
    def message(runner: Runner, outputs: dict, total: float) -> str:
        """The error text: iteration (1-based, as logged), epoch, the offending terms.

        Args:
            runner (:obj:`Runner`): The runner of the training process.
            outputs (dict): The ``log_vars`` of the iteration.
            total (float): The value of ``outputs['loss']``.

        Returns:
            str: The message.
        """
        terms = {k: _as_float(v) for k, v in outputs.items()
                 if k != 'loss' and 'loss' in k and isinstance(v, (torch.Tensor, float, int))}
        bad: Sequence[str] = [f'{k}={v}' for k, v in terms.items() if not math.isfinite(v)]
        where = f'iteration {runner.iter + 1}'
        if isinstance(runner.train_loop, EpochBasedTrainLoop):
            where += f' (epoch {runner.epoch + 1})'
        if bad:
            what = f'non-finite loss term(s) {", ".join(bad)}'
        elif terms:
            what = ('the sum of the finite loss terms overflowed '
                    f'({", ".join(f"{k}={v:.4g}" for k, v in terms.items())})')
        else:
            what = 'no separate loss terms logged'
        lr = ''
        try:
            lrs = runner.optim_wrapper.get_lr()
            lr = ' at ' + ', '.join(f'{k}={v[0]:.4g}' for k, v in lrs.items()
                                    if k.endswith('lr') and not k.endswith('base_lr'))
        except Exception:  # the lr is only a hint
            pass
        return (f'Training diverged at {where}: loss={total} with {what}{lr}. Lower the '
                'learning rate (optim_wrapper.optimizer.lr) or clip gradients '
                '(optim_wrapper.clip_grad=dict(max_norm=...)), then restart or --resume from '
                'the last checkpoint saved before the divergence.')
