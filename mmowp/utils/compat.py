"""Fixes for known breakages of the pinned stack (mmengine 0.10.7, lvis 0.5.3).

* torch >= 2.6 defaults ``torch.load(weights_only=True)``. MMEngine 0.10.7 saves
  checkpoints whose ``meta``/``message_hub`` hold numpy arrays and other Python objects,
  so its own ``load_checkpoint`` (``load_from``, ``--resume``, ``mim test --checkpoint``)
  fails on them. :func:`register_trusted_local_loader` re-registers the loader for local
  files (prefix ``''``) with ``weights_only=False``: a local checkpoint is a file the
  user chose to load, exactly as with torch < 2.6. Remote schemes are left untouched.
* lvis 0.5.3 uses ``np.float``, removed in numpy 2. :func:`lvis_numpy_shim` restores it
  only while the lvis API runs, never globally at import of unrelated code.
"""
import contextlib
import inspect
from typing import Iterator, Optional, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader


def load_from_local_trusted(filename: str,
                            map_location: Optional[Union[str, torch.device]] = None) -> dict:
    """Load a local checkpoint the way MMEngine did before torch 2.6.

    Args:
        filename (str): Path of the local checkpoint file.
        map_location (str | torch.device, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    import os.path as osp
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint file {filename!r} does not exist')
    kwargs = {}
    if 'weights_only' in inspect.signature(torch.load).parameters:
        kwargs['weights_only'] = False
    return torch.load(filename, map_location=map_location, **kwargs)


def register_trusted_local_loader() -> None:
    """Make MMEngine's ``CheckpointLoader`` use :func:`load_from_local_trusted`."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_trusted, force=True)


@contextlib.contextmanager
def lvis_numpy_shim() -> Iterator[None]:
    """Provide ``np.float`` (removed in numpy 2) while lvis 0.5.3 code runs."""
    had_float = 'float' in np.__dict__
    if not had_float:
        np.float = float  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if not had_float:
            del np.float  # type: ignore[attr-defined]


register_trusted_local_loader()
