"""Optional dependencies: imported where the feature that needs them runs, never at import.

``lvis`` (LVIS datasets and the LVIS base AP), ``scikit-learn`` (``UnknownDetectionMetric``)
and ``matplotlib`` (the figures of :mod:`mmowp.visualization`) are extras of the package
(``pip install "mmowp[lvis]"``, ``requirements/optional.txt``), not install requirements.
"""
import importlib
from types import ModuleType

#: Import name -> the package extra that installs it.
EXTRAS = {'lvis': 'lvis', 'sklearn': 'scikit-learn', 'matplotlib': 'matplotlib'}


def import_optional(module: str, feature: str) -> ModuleType:
    """Import an optional dependency, or say which extra installs it.

    Args:
        module (str): Module to import, e.g. ``'sklearn.metrics'``.
        feature (str): What needs it, for the error message.

    Returns:
        ModuleType: The module.
    """
    try:
        return importlib.import_module(module)
    except ImportError as e:
        extra = EXTRAS.get(module.split('.')[0], module.split('.')[0])
        raise ImportError(f'{feature} needs the optional package {extra!r}: pip install '
                          f'"mmowp[{extra}]" (or pip install -r requirements/optional.txt)'
                          ) from e
