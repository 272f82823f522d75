"""mmowp: open-world proposals with FCOS for MMDetection 3.x.

Importing the package registers every component into mmdet's registries
(``mmdet.registry``), so configs keep ``default_scope='mmdet'`` and load it with
``custom_imports=dict(imports=['mmowp'], allow_failed_imports=False)``. It also lets
MMEngine resolve ``_base_ = 'mmowp::<path under configs/>'`` in configs written outside
the checkout (:mod:`mmowp.utils.mim`, :mod:`mmowp.registry`).
"""
from . import datasets, engine, evaluation, models, registry, utils, visualization  # noqa: F401
from .utils import model_zoo  # noqa: F401  (registers LoadFromAdapterHook)
from .utils.mim import register_mmowp_config_scope
from .version import __version__

register_mmowp_config_scope()

__all__ = ['__version__']
