"""mmowp: open-world proposals with FCOS for MMDetection 3.x.

Importing the package registers every component into mmdet's registries
(``mmdet.registry``), so configs keep ``default_scope='mmdet'`` and load it with
``custom_imports=dict(imports=['mmowp'], allow_failed_imports=False)``.
"""
from . import datasets, engine, evaluation, models, utils, visualization  # noqa: F401
from .version import __version__

__all__ = ['__version__']
