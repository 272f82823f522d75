"""Fixes for known breakages of the pinned stack (mmengine 0.10.7, lvis 0.5.3).

* torch >= 2.6 loads with ``weights_only=True`` by default, which only unpickles tensors and
  plain containers. Besides tensors, an MMEngine 0.10.7 checkpoint holds numpy arrays,
  scalars and dtypes (``meta``, message hub) and the message hub's ``HistoryBuffer``
  objects, whose statistics methods are pickled through ``getattr``; MMEngine's own local
  loader (``load_from``, ``--resume``, ``mim test --checkpoint``) therefore fails on every
  checkpoint it writes. :func:`load_from_local_mmengine` is MMEngine's local loader with exactly
  these types allowed (:func:`mmengine_checkpoint_globals`, through
  ``torch.serialization.safe_globals`` for the duration of that load only).
  It stays a weights-only load: no code from the file runs (the unpickler calls no function
  outside its allowlist), a file holding other types still fails (with its name in the
  error), and every other ``torch.load`` of the process keeps torch's defaults. Importing
  mmowp registers it for MMEngine's local scheme (prefix ``''``); remote schemes are left
  untouched.
* lvis 0.5.3 uses ``np.float``, removed in numpy 2. :func:`lvis_numpy_shim` restores it
  only while the lvis API runs, never globally at import of unrelated code.
"""
import contextlib
import pickle
from typing import Callable, Iterator, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.runner.checkpoint import CheckpointLoader, load_from_local
from mmengine.utils import digit_version

SafeGlobal = Union[Callable, Tuple[Callable, str]]


def mmengine_checkpoint_globals() -> List[SafeGlobal]:
    """The non-tensor types of an MMEngine checkpoint, for ``torch.serialization.safe_globals``.

    Returns:
        list: numpy's array reconstruction, ``ndarray``, ``dtype`` (and the dtype classes of
        the usual numeric types), numpy scalars, MMEngine's ``HistoryBuffer`` and
        ``getattr``; pickles written under numpy 1 name numpy's ``multiarray`` module
        ``numpy.core.multiarray``, which the list allows as well.
    """
    from mmengine.logging import HistoryBuffer
    multiarray = np._core.multiarray if hasattr(np, '_core') else np.core.multiarray
    allowed: List[SafeGlobal] = [
        np.ndarray, np.dtype, multiarray._reconstruct, multiarray.scalar, HistoryBuffer, getattr
    ]
    allowed += [type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64,
                                            np.uint8, np.float16, np.float32, np.float64)]
    allowed += [(multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
                (multiarray.scalar, 'numpy.core.multiarray.scalar')]
    return allowed


# torch >= 2.6: weights_only=True by default, and safe_globals takes (object, name) pairs
_NEEDS_ALLOWLIST = digit_version(torch.__version__) >= digit_version('2.6.0')


def load_from_local_mmengine(filename: str,
                        map_location: Optional[Union[str, torch.device, Callable]] = None
                        ) -> dict:
    """MMEngine's local checkpoint loader, allowing the types MMEngine checkpoints hold.

    Args:
        filename (str): Path of the local checkpoint file.
        map_location (str | torch.device | Callable, optional): Same as :func:`torch.load`.

    Returns:
        dict: The loaded checkpoint.
    """
    if not _NEEDS_ALLOWLIST:
        return load_from_local(filename, map_location)
    try:
        with torch.serialization.safe_globals(mmengine_checkpoint_globals()):
            return load_from_local(filename, map_location)
    except pickle.UnpicklingError as e:
        raise pickle.UnpicklingError(
            f'checkpoint {filename} holds objects other than those of an MMEngine checkpoint '
            f'(see mmowp.utils.compat); if you trust the file, allow their types with '
            f'torch.serialization.add_safe_globals. {e}') from e


def register_mmengine_local_loader() -> None:
    """Make MMEngine's ``CheckpointLoader`` use :func:`load_from_local_mmengine` for local files."""
    CheckpointLoader.register_scheme(prefixes='', loader=load_from_local_mmengine, force=True)


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


register_mmengine_local_loader()
