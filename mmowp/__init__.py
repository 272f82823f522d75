"""mmowp: open-world proposals with FCOS for MMDetection 3.x.

Importing the package registers every component into mmdet's registries
(``mmdet.registry``), so configs keep ``default_scope='mmdet'`` and load it with
``custom_imports=dict(imports=['mmowp'], allow_failed_imports=False)``. It also lets
MMEngine resolve ``_base_ = 'mmowp::<path under configs/>'`` in configs written outside
the checkout (:mod:`mmowp.utils.mim`, :mod:`mmowp.registry`).
"""
from .version import __version__, check_openmmlab_versions

# First, so that an unsupported mmcv / mmdet / mmengine is named with the supported ranges
# (requirements/mminstall.txt) before importing them fails in another way.
check_openmmlab_versions()

from . import datasets, engine, evaluation, models, registry, utils, visualization  # noqa: E402,F401
from .utils import model_zoo  # noqa: E402,F401  (registers LoadFromAdapterHook)
from .utils.mim import register_mmowp_config_scope  # noqa: E402

register_mmowp_config_scope()

__all__ = ['__version__']
