"""mmowp's version, and the versions of the OpenMMLab stack it supports."""
import os.path as osp
from typing import Dict, Optional

__version__ = '0.1.0'

#: The packages whose installed versions :func:`check_openmmlab_versions` checks.
OPENMMLAB_PACKAGES = ('mmcv', 'mmdet', 'mmengine')
_MMINSTALL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'requirements',
                      'mminstall.txt')


def supported_versions() -> Dict[str, str]:
    """The supported version range of each of :data:`OPENMMLAB_PACKAGES`.

    The one source is ``requirements/mminstall.txt``: read from the checkout when the package
    runs from one, otherwise from the installed package's metadata (setup.py copies it into
    ``install_requires``).

    Returns:
        dict[str, str]: e.g. ``{'mmcv': '>=2.1.0,<2.2.0', ...}``; empty when neither source
        is found.
    """
    from importlib import metadata

    from packaging.requirements import Requirement
    if osp.isfile(_MMINSTALL):
        with open(_MMINSTALL) as f:
            specs = [line.split('#', 1)[0].strip() for line in f]
    else:
        try:
            specs = [r for r in metadata.requires('mmowp') or [] if 'extra ==' not in r]
        except metadata.PackageNotFoundError:
            specs = []
    ranges = {}
    for spec in filter(None, specs):
        req = Requirement(spec)
        if req.name in OPENMMLAB_PACKAGES:
            ranges[req.name] = ','.join(sorted(map(str, req.specifier),
                                               key=lambda s: (s[0] != '>', s)))
    return ranges


def check_openmmlab_versions(installed: Optional[Dict[str, Optional[str]]] = None) -> None:
    """Raise ``RuntimeError`` naming the supported ranges when mmcv, mmdet or mmengine is
    missing or outside its range.

    Args:
        installed (dict[str, str | None], optional): Package -> installed version (None: not
            installed). Defaults to the versions in the environment's package metadata, read
            without importing the packages (so this runs before mmdet's own checks).
    """
    from importlib import metadata

    from packaging.specifiers import SpecifierSet
    ranges = supported_versions()
    if installed is None:
        installed = {}
        for name in ranges:
            try:
                installed[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                installed[name] = None
    bad = [f'{name} {installed.get(name) or "(not installed)"}' for name, spec in ranges.items()
           if installed.get(name) is None
           or not SpecifierSet(spec).contains(installed[name], prereleases=True)]
    if bad:
        supported = ', '.join(f'{name}{spec}' for name, spec in ranges.items())
        raise RuntimeError(
            f'mmowp {__version__} supports {supported}; found {", ".join(bad)}. Install '
            'supported versions (pip install -r requirements/mminstall.txt; mmcv with its '
            'compiled ops, see tools/install.sh).')
