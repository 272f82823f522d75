"""Build script: the requirements come from ``requirements/*.txt``, the rest of the metadata
from setup.cfg.

As mmdet's setup.py does, the build puts ``configs/``, ``tools/`` and ``model-index.yml`` into
``mmowp/.mim`` so that ``mim train mmowp <config>``, ``mim test mmowp <config>`` and
``_base_ = 'mmowp::...'`` find them inside the installed package: as copies when a wheel or
an sdist is built (``pip install .``), as symbolic links to the checkout in develop mode
(``python setup.py develop``, what ``tools/install.sh`` runs), so that edits need no
reinstall.
"""
import os
import os.path as osp
import re
import shutil
import sys
from typing import Iterator, List, Optional

from setuptools import setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def parse_requirements(fname: str) -> List[str]:
    """The requirement lines of a requirements file, following ``-r other.txt`` includes.

    Args:
        fname (str): Path of the file, relative to this folder.

    Returns:
        list[str]: Requirement specifiers with their versions (comments dropped).
    """
    def lines(path: str) -> Iterator[str]:
        with open(osp.join(ROOT, path)) as f:
            for line in f:
                line = line.split('#', 1)[0].strip()
                if line.startswith('-r '):
                    yield from lines(osp.join(osp.dirname(path), line[3:].strip()))
                elif line:
                    yield line

    return list(lines(fname))


def requirement_name(spec: str) -> str:
    """The distribution name of a requirement specifier (``'lvis==0.5.3'`` -> ``'lvis'``)."""
    return re.split(r'[\s<>=!~;\[]', spec, maxsplit=1)[0]


def extras_require() -> dict:
    """Extras: one per optional package (named after it), ``optional`` (all of them),
    ``mim`` (the OpenMMLab stack, what ``mim install`` resolves), ``tests``, ``analysis``
    and ``all``."""
    optional = parse_requirements('requirements/optional.txt')
    extras = {requirement_name(spec): [spec] for spec in optional}
    extras.update(optional=optional,
                  mim=parse_requirements('requirements/mminstall.txt'),
                  tests=parse_requirements('requirements/tests.txt'),
                  analysis=parse_requirements('requirements/analysis.txt'))
    extras['all'] = sorted({spec for reqs in extras.values() for spec in reqs})
    return extras


def mim_mode(argv: List[str]) -> Optional[str]:
    """How :func:`add_mim_extension` provides the files for the setup.py command in ``argv``:
    ``'symlink'`` in develop / editable mode, ``'copy'`` when a wheel or an sdist is built,
    None otherwise (metadata only)."""
    if 'develop' in argv or 'editable_wheel' in argv:
        return 'copy' if sys.platform == 'win32' else 'symlink'
    if 'bdist_wheel' in argv or 'sdist' in argv:
        return 'copy'
    return None


def add_mim_extension(mode: Optional[str], root: str = ROOT) -> None:
    """Put ``MIM_FILES`` into ``<root>/mmowp/.mim`` as links or copies (mmdet's scheme).

    Args:
        mode (str, optional): ``'symlink'`` (relative links to the checkout), ``'copy'``, or
            None (leave ``.mim`` as it is).
        root (str): The repository folder.
    """
    if mode is None:
        return
    mim_dir = osp.join(root, 'mmowp', '.mim')
    os.makedirs(mim_dir, exist_ok=True)
    for name in MIM_FILES:
        src, dst = osp.join(root, name), osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        # a link is removed as a link (never rmtree through it into the checkout)
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if mode == 'symlink':
            os.symlink(osp.relpath(src, mim_dir), dst)
        elif osp.isfile(src):
            shutil.copyfile(src, dst)
        else:
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


if __name__ == '__main__':
    add_mim_extension(mim_mode(sys.argv))
    setup(install_requires=parse_requirements('requirements/runtime.txt'),
          extras_require=extras_require())
