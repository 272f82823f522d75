"""Tell the evaluators and the visualizer whether the model's proposals are class-agnostic."""
from typing import Optional

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner


def model_is_class_agnostic(model: object) -> Optional[bool]:
    """Whether ``model``'s head returns one class, "object" (its ``class_agnostic``);
    None when the head does not say (mmdet's own heads are class-aware)."""
    if is_model_wrapper(model):
        model = model.module
    head = getattr(model, 'bbox_head', None)
    value = getattr(head, 'class_agnostic', None)
    return None if value is None else bool(value)


@HOOKS.register_module()
class ClassAgnosticFromModelHook(Hook):
    """Before validation and testing, set ``class_agnostic`` of every metric and of the
    visualizer that has one and left it unset (None) from the model's head
    (``OWPFCOSHead.class_agnostic``, i.e. its score mode), so configs do not restate it.
    A value a config set explicitly that contradicts the model raises ``ValueError``
    naming the key: a class-aware evaluation of "object" labels would report a
    meaningless base AP.
    """

    priority = 'LOW'

    def before_val(self, runner: Runner) -> None:
        self._sync(runner, runner.val_loop.evaluator, 'val_evaluator')

    def before_test(self, runner: Runner) -> None:
        self._sync(runner, runner.test_loop.evaluator, 'test_evaluator')

    def _sync(self, runner: Runner, evaluator: object, key: str) -> None:
        agnostic = model_is_class_agnostic(runner.model)
        targets = [(metric, f'{key}.class_agnostic ({type(metric).__name__})')
                   for metric in getattr(evaluator, 'metrics', [])]
        targets.append((runner.visualizer, 'visualizer.class_agnostic'))
        for target, name in targets:
            if not hasattr(target, 'class_agnostic'):
                continue
            if agnostic is None:  # the head does not say: undo what this hook set before
                if getattr(target, '_class_agnostic_from_model', False):
                    target.class_agnostic = None
                continue
            # a value this hook set for an earlier runner of the process (the visualizer is
            # a per-name singleton) is the hook's to change
            if target.class_agnostic is None or getattr(target, '_class_agnostic_from_model',
                                                        False):
                target.class_agnostic = agnostic
                target._class_agnostic_from_model = True
            elif bool(target.class_agnostic) != agnostic:
                raise ValueError(
                    f'{name}={target.class_agnostic}, but the model is '
                    f'{"class-agnostic" if agnostic else "class-aware"} (its head score_mode '
                    f'is {getattr(self._head(runner), "score_mode", "?")!r}); remove the key '
                    'to take it from the model')

    @staticmethod
    def _head(runner: Runner) -> object:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        return getattr(model, 'bbox_head', None)
