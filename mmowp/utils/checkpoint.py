"""Checkpoint safety: refuse ill-fitting checkpoints, write and pick complete ones.

* MMEngine's ``load_checkpoint`` (``load_from``, ``tools/test.py CHECKPOINT``) loads with
  ``strict=False`` and only *logs* missing/unexpected keys and shape mismatches. Evaluating
  an OWP IoU-head config with a plain FCOS checkpoint (or a checkpoint trained with another
  number of classes) then reports metrics of a half-random head without any error.
  :func:`check_checkpoint_compatible` compares keys and shapes first and raises an error
  that names the file, the head type the checkpoint was trained with (from its saved
  config) and the offending parameters.
* A checkpoint write cut short (killed process, full disk, power loss before the data
  reached the disk) leaves a truncated ``iter_N.pth``. :func:`replace_atomically` and
  :func:`write_text_atomically` (used by
  :class:`~mmowp.engine.hooks.AtomicCheckpointHook`) only ever expose complete files;
  :func:`checkpoint_problem` tells a truncated file from a complete one and
  :func:`find_resumable_checkpoint` (``tools/train.py --resume``) skips truncated ones,
  falling back to the previous complete checkpoint.
"""
import logging
import os
import os.path as osp
import re
import zipfile
from typing import List, Optional, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import is_model_wrapper
from mmengine.runner.checkpoint import _load_checkpoint

from .compat import load_from_local_mmengine


def _saved_head_type(checkpoint: dict) -> Optional[str]:
    cfg_text = (checkpoint.get('meta') or {}).get('cfg')
    if not isinstance(cfg_text, str):
        return None
    try:
        head = Config.fromstring(cfg_text, '.py').get('model', {}).get('bbox_head', {})
    except Exception:  # an unreadable saved config only loses the hint
        return None
    return head.get('type') if isinstance(head, dict) else None


def _short(keys: List[str], n: int = 8) -> str:
    return ', '.join(keys[:n]) + (f' ... ({len(keys)} in total)' if len(keys) > n else '')


def check_checkpoint_compatible(model: nn.Module, filename: str) -> None:
    """Raise ``ValueError`` when ``filename`` does not hold every weight of ``model``.

    Args:
        model (nn.Module): The built model (a wrapper is unwrapped).
        filename (str): The checkpoint file.
    """
    if is_model_wrapper(model):
        model = model.module
    checkpoint = _load_checkpoint(filename, map_location='cpu')
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise ValueError(f'{filename} is not a model checkpoint (no state_dict)')
    state = {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()}
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    mismatched = [f'{k} {tuple(state[k].shape)} vs model {tuple(own[k].shape)}' for k in own
                  if k in state and hasattr(state[k], 'shape')
                  and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or mismatched):
        return
    head = _saved_head_type(checkpoint)
    ours = type(getattr(model, 'bbox_head', model)).__name__
    msg = [f'checkpoint {filename} does not fit the model of this config'
           + (f' (it was trained with bbox_head {head}, the config builds {ours})'
              if head else '')]
    if missing:
        msg.append(f'missing in the checkpoint: {_short(missing)}')
    if mismatched:
        msg.append(f'shape mismatch: {_short(mismatched)}')
    if unexpected:
        msg.append(f'not used by the model: {_short(unexpected)}')
    raise ValueError('; '.join(msg))


# the names MMEngine's CheckpointHook gives (filename_tmpl 'iter_{}.pth' / 'epoch_{}.pth')
_CKPT_NAME = re.compile(r'^(?:iter|epoch)_(\d+)\.pth$')


def _fsync_path(path: str) -> None:
    """Flush ``path`` (a file or, where the OS allows, a directory) to the disk."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # directories cannot be opened on Windows; nothing more to do there
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def replace_atomically(tmp_path: str, path: str) -> None:
    """Flush the finished file ``tmp_path`` to disk, then rename it to ``path``.

    ``os.replace`` within one directory is atomic: a reader (or a later ``--resume``) sees
    either the previous ``path`` or the complete new one, never a partial file, even when
    the process is killed or the machine loses power part-way.

    Args:
        tmp_path (str): The completely written file, in the directory of ``path``.
        path (str): The final name.
    """
    _fsync_path(tmp_path)
    os.replace(tmp_path, path)
    _fsync_path(osp.dirname(osp.abspath(path)))


def write_text_atomically(path: str, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and :func:`replace_atomically`.

    Args:
        path (str): The file to (over)write.
        text (str): Its new content.
    """
    tmp = f'{path}.tmp{os.getpid()}'
    try:
        with open(tmp, 'w') as f:
            f.write(text)
        replace_atomically(tmp, path)
    finally:
        if osp.exists(tmp):
            os.remove(tmp)


def checkpoint_problem(filename: str) -> Optional[str]:
    """Why ``filename`` is not a complete checkpoint, or ``None`` when it is one.

    A checkpoint saved by ``torch.save`` (zip format, torch >= 1.6) ends with the zip
    central directory, so a truncated file has none; every record is then read and its
    CRC checked (this also catches blocks that never reached the disk). A legacy
    (non-zip) file is checked by loading it.

    Args:
        filename (str): The checkpoint file.

    Returns:
        str | None: A description of the problem (``'is truncated ...'``), or None.
    """
    if not osp.isfile(filename):
        return 'does not exist'
    size = osp.getsize(filename)
    if size == 0:
        return 'is empty (0 bytes)'
    with open(filename, 'rb') as f:
        magic = f.read(4)
    if magic == b'PK\x03\x04':
        try:
            with zipfile.ZipFile(filename) as zf:
                names = zf.namelist()
                if not any(n == 'data.pkl' or n.endswith('/data.pkl') for n in names):
                    return f'is a zip file without a pickled checkpoint ({size} bytes)'
                if zf.testzip() is None:
                    return None
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            return (f'is truncated ({size} bytes, the zip directory torch.save writes at the '
                    f'end is missing or damaged: {e})')
        # a CRC mismatch: torch may have been told not to write CRCs, so let torch decide
    try:
        load_from_local_mmengine(filename, map_location='cpu')
    except Exception as e:  # noqa: BLE001  (any failure to load is the answer)
        return f'cannot be loaded ({size} bytes; {type(e).__name__}: {e})'
    return None


def check_checkpoint_complete(filename: str) -> None:
    """Raise ``ValueError`` naming ``filename`` when it is not a complete checkpoint.

    Args:
        filename (str): The checkpoint file.
    """
    problem = checkpoint_problem(filename)
    if problem is not None:
        raise ValueError(f'checkpoint {filename} {problem}')


def _step(path: str) -> int:
    match = _CKPT_NAME.match(osp.basename(path))
    return int(match.group(1)) if match else -1


def _saved_checkpoints(dirs: List[str]) -> List[str]:
    """``iter_N.pth`` / ``epoch_N.pth`` files in ``dirs``, newest (largest N) first."""
    found = set()
    for d in dirs:
        if osp.isdir(d):
            found.update(osp.join(d, n) for n in os.listdir(d) if _CKPT_NAME.match(n))
    return sorted(found, key=lambda p: (_step(p), p), reverse=True)


def find_resumable_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint ``--resume`` (auto) should resume from, skipping truncated ones.

    MMEngine resumes from the file named in ``work_dir/last_checkpoint`` and fails with
    an unreadable-zip error when that file is truncated. Here, when that file is
    complete it is the answer; when it (or ``last_checkpoint`` itself) is truncated,
    empty or missing, the newest complete ``iter_N.pth`` / ``epoch_N.pth`` *before* it
    (in its directory and in ``work_dir``) is used, with a warning naming the skipped
    files. Without ``last_checkpoint`` the newest complete checkpoint in ``work_dir`` is
    used.

    Args:
        work_dir (str): The run's work directory.

    Returns:
        str | None: The checkpoint to resume from; None when ``work_dir`` holds no
        checkpoint at all (training starts from scratch, as MMEngine does).

    Raises:
        ValueError: Checkpoints exist but none is complete.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    target = None
    if osp.isfile(pointer):
        with open(pointer) as f:
            target = f.read().strip() or None
    dirs = [work_dir] + ([osp.dirname(target)] if target and osp.dirname(target) else [])
    saved = _saved_checkpoints(dirs)
    if target is not None:
        limit = _step(target)
        older = [p for p in saved if limit < 0 or _step(p) < limit]
        candidates = [target] + [p for p in older if osp.abspath(p) != osp.abspath(target)]
    else:
        candidates = saved
    skipped: List[Tuple[str, str]] = []
    for path in candidates:
        problem = checkpoint_problem(path)
        if problem is None:
            if skipped:
                print_log(
                    'Resume: skipped ' + '; '.join(f'{p} ({why})' for p, why in skipped)
                    + f'. Resuming from the previous complete checkpoint {path}.',
                    logger='current', level=logging.WARNING)
            return path
        skipped.append((path, problem))
    if not skipped:
        return None
    raise ValueError(
        f'--resume: no complete checkpoint in {work_dir}: '
        + '; '.join(f'{p} {why}' for p, why in skipped)
        + '. Remove the broken files to train from scratch, or resume from another '
        'checkpoint with --resume PATH.')
