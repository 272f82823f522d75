"""Make a tool run the mmowp of the checkout it lives in.

``python tools/<tool>.py`` puts ``tools/`` on ``sys.path``, not the repository root, so
``import mmowp`` would find whichever copy of mmowp is installed. A tool imports this
module before mmowp (``import _path  # noqa: F401``): when the tool lies in a checkout (a
folder with ``setup.py`` and ``mmowp/`` one or two levels above this file) that folder goes
first on ``sys.path``. Under an installed package (``mmowp/.mim/tools``, where ``mim train``
and ``mim test`` run the tools) there is no such folder and nothing changes.

``tools/analysis/_path.py`` is a symbolic link to this file, for the tools in that folder.
"""
import os.path as osp
import sys
from typing import Optional


def checkout_root(path: str = __file__, levels: int = 2) -> Optional[str]:
    """The first folder above ``path`` (at most ``levels`` up from its folder) that holds
    ``setup.py`` and ``mmowp/``, or None."""
    folder = osp.dirname(osp.abspath(path))
    for _ in range(levels):
        folder = osp.dirname(folder)
        if osp.isfile(osp.join(folder, 'setup.py')) and osp.isdir(osp.join(folder, 'mmowp')):
            return folder
    return None


ROOT = checkout_root()
if ROOT is not None and ROOT not in sys.path[:1]:
    sys.path.insert(0, ROOT)
