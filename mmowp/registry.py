"""Registries of the ``mmowp`` scope: children of mmdet's, for MMEngine's scope machinery.

mmowp registers its components into mmdet's registries and its configs keep
``default_scope='mmdet'``. A config that inherits ours with ``_base_ = 'mmowp::...'`` gets
``_scope_='mmowp'`` on every dict it inherits (MMEngine marks the dicts of a ``pkg::`` base
with that package's scope) and MMEngine then imports ``mmowp.registry`` and builds those
dicts from the registries of scope ``mmowp``. Each registry here is a child of mmdet's
registry of the same kind, so it finds every mmdet, mmowp and MMEngine component through
its parents, exactly as the ``mmdet`` scope does.
"""
from mmdet import registry as mmdet_registry
from mmengine.registry import Registry


def _child(parent: Registry) -> Registry:
    return Registry(parent.name, parent=parent, scope='mmowp', locations=['mmowp'])


RUNNERS = _child(mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child(mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child(mmdet_registry.LOOPS)
HOOKS = _child(mmdet_registry.HOOKS)
DATASETS = _child(mmdet_registry.DATASETS)
DATA_SAMPLERS = _child(mmdet_registry.DATA_SAMPLERS)
TRANSFORMS = _child(mmdet_registry.TRANSFORMS)
MODELS = _child(mmdet_registry.MODELS)
MODEL_WRAPPERS = _child(mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child(mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child(mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child(mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child(mmdet_registry.PARAM_SCHEDULERS)
METRICS = _child(mmdet_registry.METRICS)
EVALUATOR = _child(mmdet_registry.EVALUATOR)
TASK_UTILS = _child(mmdet_registry.TASK_UTILS)
VISUALIZERS = _child(mmdet_registry.VISUALIZERS)
VISBACKENDS = _child(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child(mmdet_registry.LOG_PROCESSORS)
