"""Config helpers shared by ``tools/train.py``, ``tools/test.py`` and ``tools/propose.py``.

MMEngine evaluates a config file once: a top-level variable such as ``data_root`` or
``known_classes`` is *copied* into every dataloader and evaluator that uses it when the file
is read. Changing the variable afterwards (``--cfg-options known_classes=...``, or
``data_root = ...`` in a user's config that inherits ours) changes only the top-level copy.
:func:`apply_cfg_options` and :func:`propagate_inherited_variables` carry such a change to
every place that still holds the old value, and refuse one that reaches nothing, naming it.
:func:`resolve_data_root` finds the datasets (``MMOWP_DATA``, the working directory, the
checkout mmowp was installed from) before anything is built, and fails with a message that
names ``data_root`` and how to set it.
"""
import argparse
import copy
import difflib
import json
import os
import os.path as osp
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple
from urllib.parse import unquote, urlparse

from mmengine.config import Config, ConfigDict, DictAction

_DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_EVALUATORS = ('val_evaluator', 'test_evaluator')
#: Dataloader and evaluator of each phase of a run.
PHASES: Dict[str, Tuple[str, Optional[str]]] = {
    'train': ('train_dataloader', None),
    'val': ('val_dataloader', 'val_evaluator'),
    'test': ('test_dataloader', 'test_evaluator'),
}
#: Top-level keys read by MMEngine's ``Runner`` (``__init__``/``from_cfg`` and the config it
#: keeps), by mmdet's tools and by ours: an override of these reaches the run as it is.
#: Every other top-level key is a variable of the config file.
RUNNER_KEYS = frozenset((
    'model', 'work_dir', 'train_dataloader', 'val_dataloader', 'test_dataloader', 'train_cfg',
    'val_cfg', 'test_cfg', 'auto_scale_lr', 'optim_wrapper', 'param_scheduler',
    'val_evaluator', 'test_evaluator', 'default_hooks', 'custom_hooks', 'data_preprocessor',
    'load_from', 'resume', 'launcher', 'env_cfg', 'log_processor', 'log_level', 'visualizer',
    'default_scope', 'randomness', 'experiment_name', 'custom_imports', 'model_wrapper_cfg',
    'find_unused_parameters', 'compile', 'activation_checkpointing', 'efficient_conv_bn_eval',
    'resource_limit', 'strategy', 'tta_model', 'tta_pipeline', 'dist_params',
    'load_from_drop'))
#: Where the configs of the embedded dataset (``configs/_base_/datasets/owd_shapes.py``) put
#: it, relative to the checkout.
EMBEDDED_DATA_ROOT = 'data/owd_shapes/'
#: Environment variable with the location of the embedded dataset.
DATA_ENV = 'MMOWP_DATA'


def _datasets(loader_cfg: ConfigDict) -> list:
    """The dataset dicts of a dataloader config, looking through dataset wrappers."""
    found, stack = [], [loader_cfg.get('dataset')]
    while stack:
        ds = stack.pop()
        if isinstance(ds, (list, tuple)):
            stack.extend(ds)
        elif isinstance(ds, dict):
            if 'dataset' in ds or 'datasets' in ds:
                stack.append(ds.get('dataset', ds.get('datasets')))
            else:
                found.append(ds)
    return found


def _as_list(x: Any) -> list:
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


# ------------------------------------------------------------ variable propagation
def _dir(path: str) -> str:
    return path if path.endswith('/') else path + '/'


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (``1 == True`` and ``[1] == (1,)`` do not count),
    ignoring the ``_scope_`` MMEngine adds to dicts inherited from a ``pkg::`` base."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        # `_scope_` is added by MMEngine to dicts inherited from a `pkg::` base
        keys = set(a.keys()) - {'_scope_'}
        return keys == set(b.keys()) - {'_scope_'} and all(_same(a[k], b[k]) for k in keys)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001  (objects that cannot be compared are different)
        return False


def _distinctive(value: Any) -> bool:
    """Whether a copy of ``value`` can be recognised under any key: paths, lists, dicts.

    Short strings and numbers (``'voc'``, ``600``) only count under a key of the same name.
    """
    if isinstance(value, str):
        return '/' in value
    return isinstance(value, (list, tuple, dict)) and len(value) > 0


def _rewrite(node: Any, key: str, old: Any, new: Any, counts: List[int],
             where: str, changed: List[str]) -> Any:
    """Replace the copies of ``old`` in ``node`` by ``new``; returns the (new) node.

    A copy is a value equal to ``old`` under a key named ``key``, or anywhere when
    :func:`_distinctive`. When ``old`` is a directory (a string ending with ``/``), strings
    that start with it (``data_root + 'annotations/...'``) get the new directory.
    ``counts`` is ``[changed, already_new]``.
    """
    prefix = isinstance(old, str) and isinstance(new, str) and old.endswith('/')

    def visit(k: Any, v: Any, path: str) -> Tuple[bool, Any]:
        if (k == key or _distinctive(new)) and _same(v, new):
            counts[1] += 1
            return False, v
        if (k == key or _distinctive(old)) and _same(v, old):
            counts[0] += 1
            changed.append(path)
            return True, copy.deepcopy(new)
        if prefix and isinstance(v, str) and v.startswith(old) and len(v) > len(old):
            counts[0] += 1
            changed.append(path)
            return True, _dir(new) + v[len(old):]
        return True, _rewrite(v, key, old, new, counts, path, changed)

    if isinstance(node, dict):
        for k in list(node.keys()):
            _, node[k] = visit(k, node[k], f'{where}.{k}' if where else str(k))
        return node
    if isinstance(node, (list, tuple)):
        items = [visit(None, v, f'{where}.{i}')[1] for i, v in enumerate(node)]
        if isinstance(node, list):
            node[:] = items
            return node
        return type(node)(items)
    return node


def propagate_variable(cfg: Config, key: str, old: Any, new: Any) -> Tuple[List[str], int]:
    """Put ``new`` everywhere the config holds a copy of the top-level variable ``key``.

    Args:
        cfg (Config): The config; modified in place (the top-level ``key`` itself is left
            as it is).
        key (str): The top-level variable, e.g. ``'known_classes'``.
        old (Any): The value it had when the config file was read.
        new (Any): Its new value.

    Returns:
        tuple: The dotted keys changed, and the number of places (keys named ``key``)
        that already hold ``new``.
    """
    counts, changed = [0, 0], []
    for k in list(cfg.keys()):
        if k != key:
            cfg[k] = _rewrite(cfg[k], key, old, new, counts, k, changed)
    return changed, counts[1]


def _move_data_root(cfg: Config, old: Optional[str], new: str) -> List[str]:
    """Move the datasets, evaluators (and anything else) under ``old`` to ``new``.

    Datasets whose ``data_root`` is not ``old`` keep theirs; when no dataset uses ``old``
    (or it is unknown) every dataset is moved, as ``--cfg-options data_root`` always did.
    """
    new = _dir(new)
    roots = [ds.get('data_root') for key in _DATALOADERS if cfg.get(key)
             for ds in _datasets(cfg[key])]
    if isinstance(old, str) and _dir(old) in {_dir(r) for r in roots if isinstance(r, str)}:
        moved = []
        for variant in {old, _dir(old)}:
            moved += propagate_variable(cfg, 'data_root', variant, new)[0]
        return moved
    old_roots = {r for r in roots if r}
    moved = []
    for key in _DATALOADERS:
        for ds in _datasets(cfg[key]) if cfg.get(key) else []:
            ds['data_root'] = new
            moved.append(f'{key}.dataset.data_root')
    for key in _EVALUATORS:
        for ev in _as_list(cfg.get(key)):
            ann_file = ev.get('ann_file')
            for root in sorted(old_roots, key=len, reverse=True):
                if isinstance(ann_file, str) and ann_file.startswith(_dir(root)):
                    ev['ann_file'] = new + ann_file[len(_dir(root)):]
                    moved.append(f'{key}.ann_file')
                    break
    return moved


def apply_data_root(cfg: Config, data_root: Optional[str]) -> Config:
    """Point the dataloaders and evaluators of ``cfg`` at a new ``data_root``.

    MMEngine resolves ``data_root`` when the config file is read, so
    ``--cfg-options data_root=/data/coco/`` alone only changes the top-level variable.
    This moves every dataset whose ``data_root`` is the config's top-level ``data_root`` to
    the new root, and every path under the old root (the evaluators' ``ann_file``, an
    ``OutlierPaste`` transform's ``data_root``). Datasets of another root (e.g. a
    cross-dataset benchmark's evaluation set) keep theirs; a config whose datasets do not
    use its top-level ``data_root`` has all of them moved.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        data_root (str, optional): The new root; ``None`` leaves ``cfg`` unchanged.
    """
    if not data_root:
        return cfg
    _move_data_root(cfg, cfg.get('data_root'), data_root)
    cfg['data_root'] = _dir(data_root)
    return cfg


def _unreached(source: str, key: str, old: Any, config: str) -> ValueError:
    return ValueError(
        f'{source}: the top-level variable {key!r} of {config} (was {old!r}) is not used '
        'anywhere in the config, so this change reaches nothing (MMEngine copies a variable '
        'into the places that use it when it reads the file, and no copy of the old value '
        'is left). Override the keys that use the value directly instead.')


def apply_cfg_options(cfg: Config, options: Dict[str, Any],
                      source: str = '--cfg-options') -> Config:
    """Merge ``--cfg-options`` into ``cfg`` so that each one reaches what it names.

    * A key the runner reads (``model.…``, ``train_cfg.…``, ``load_from``, see
      :data:`RUNNER_KEYS`) is merged as MMEngine does.
    * A top-level variable (``known_classes``, ``data_root``, ``train_pipeline``, ...) is
      merged and then copied to every place that held its old value
      (:func:`propagate_variable`; ``data_root`` with :func:`apply_data_root`).
    * A variable whose old value is used nowhere, or a key the config does not have and
      the runner does not read (a typo), raises ``ValueError`` naming it.

    Args:
        cfg (Config): The loaded config; modified in place and returned.
        options (dict): Parsed ``--cfg-options`` (``DictAction``).
        source (str): How the options are named in error messages.
    """
    config = cfg.filename or 'the config'
    for full_key, value in options.items():
        top = full_key.split('.')[0]
        existed = top in cfg
        old = copy.deepcopy(cfg.get(top)) if existed else None
        if not existed and top not in RUNNER_KEYS:
            close = difflib.get_close_matches(top, [k for k in cfg.keys()], n=3)
            hint = f' Did you mean {" / ".join(close)}?' if close else ''
            raise ValueError(f'{source} {full_key}={value!r}: {config} has no key {top!r} '
                             f'and the runner does not read one, so nothing would change.'
                             f'{hint}')
        cfg.merge_from_dict({full_key: value})
        if top in RUNNER_KEYS:
            continue
        new = cfg[top]
        if top == 'data_root' and isinstance(new, str):
            _move_data_root(cfg, old, new)
            cfg['data_root'] = _dir(new)
            continue
        changed, already = propagate_variable(cfg, top, old, new)
        if not changed and not already:
            raise _unreached(f'{source} {full_key}={value!r}', top, old, config)
    return cfg


def _base_values(filename: str) -> Dict[str, Any]:
    """Top-level values of the base configs of ``filename`` (each fully resolved)."""
    values: Dict[str, Any] = {}
    with warnings.catch_warnings():
        # re-reading an `mmdet::` base makes MMEngine reload pkg_resources, which warns
        # that it is deprecated once per reload; the first read already said so
        warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
        for base in Config._get_base_files(filename):
            path, _ = Config._get_cfg_path(base, filename)
            base_cfg = Config.fromfile(path, import_custom_modules=False)
            for k, v in base_cfg.items():
                values.setdefault(k, v)
    return values


def propagate_inherited_variables(cfg: Config) -> List[str]:
    """Carry the top-level variables a config changes from its bases to their copies.

    A user's config ``_base_ = 'mmowp::toy/...py'; data_root = '/data/owd/'`` changes the
    top-level ``data_root`` only: the dataloaders and evaluators of the base keep the
    base's value. This puts the new value wherever the base's value is still found (as
    :func:`apply_cfg_options` does for ``--cfg-options``) and raises ``ValueError`` for a
    variable that changes nothing.

    Args:
        cfg (Config): A config loaded with ``Config.fromfile``; modified in place.

    Returns:
        list[str]: ``'key: place, place'`` for each variable carried.
    """
    filename = cfg.filename
    if not filename or not filename.endswith('.py') or not osp.isfile(filename):
        return []
    notes = []
    for key, old in _base_values(filename).items():
        if key in RUNNER_KEYS or key.startswith('_') or key not in cfg:
            continue
        new = cfg[key]
        if _same(old, new):
            continue
        if key == 'data_root' and isinstance(new, str) and isinstance(old, str):
            changed = []
            for variant in {old, _dir(old)}:
                changed += propagate_variable(cfg, 'data_root', variant, new)[0]
            already = sum(ds.get('data_root') in (new, _dir(new)) for k in _DATALOADERS
                          if cfg.get(k) for ds in _datasets(cfg[k]))
        else:
            changed, already = propagate_variable(cfg, key, old, new)
        if not changed and not already:
            raise _unreached(f'{filename}: {key} = {new!r}', key, old, 'its base configs')
        if changed:
            notes.append(f'{key}: {", ".join(changed)}')
    return notes


# -------------------------------------------------------------------- data location
def checkout_roots() -> List[str]:
    """Checkouts whose ``data/`` folder may hold the datasets, most specific first.

    The checkout this ``mmowp`` is imported from (``python tools/train.py`` in a checkout,
    an editable install) and the one a non-editable install was made from (``pip install
    /path/to/checkout`` records it in the distribution's ``direct_url.json``).
    """
    roots = []
    import mmowp
    here = osp.dirname(osp.dirname(osp.abspath(mmowp.__file__)))
    if osp.isfile(osp.join(here, 'setup.py')) and osp.isdir(osp.join(here, 'configs')):
        roots.append(here)
    try:
        from importlib.metadata import PackageNotFoundError, distribution
        text = distribution('mmowp').read_text('direct_url.json')
    except (ImportError, PackageNotFoundError, OSError):
        text = None
    if text:
        try:
            url = urlparse(json.loads(text).get('url', ''))
        except (ValueError, AttributeError):
            url = None
        if url is not None and url.scheme == 'file':
            path = osp.abspath(unquote(url.path))
            if osp.isdir(path) and path not in roots:
                roots.append(path)
    return roots


def _is_remote(path: str) -> bool:
    return '://' in path


def _candidates(root: str, search: bool) -> List[Tuple[str, str]]:
    """(description, path) of the places ``root`` may be, in the order they are tried."""
    cands = []
    relative = not osp.isabs(root)
    if search and relative and _dir(osp.normpath(root)) == EMBEDDED_DATA_ROOT:
        env = os.environ.get(DATA_ENV)
        if env:
            return [(f'${DATA_ENV}', env)]
    cands.append(('the working directory' if relative else 'as given', root))
    if search and relative:
        cands += [(f'the checkout {r}', osp.join(r, root)) for r in checkout_roots()]
    return cands


def _data_root_error(root: str, users: List[str], tried: List[Tuple[str, str]],
                     search: bool) -> str:
    where = '; '.join(f'{name}: {osp.abspath(path)}' for name, path in tried)
    if not search:
        return (f'data_root {root!r} (--cfg-options, used by {", ".join(users)}) does not '
                f'exist ({osp.abspath(root)}).')
    msg = (f'data_root {root!r} (used by {", ".join(users)}) was not found (tried {where}). '
           f'Set it with --cfg-options data_root=/path/to/{osp.basename(osp.normpath(root))}/'
           ' (or data_root = ... in your config)')
    if _dir(osp.normpath(root)) == EMBEDDED_DATA_ROOT:
        msg += (f', or point the environment variable {DATA_ENV} at the generated dataset '
                '(make one with `python -m mmowp.datasets.generate /path/to/owd_shapes`)')
    return msg + '.'


def resolve_data_root(cfg: Config, phases: Iterable[str] = ('train', 'val', 'test'),
                      search: bool = True) -> Config:
    """Find the datasets of ``phases`` and check their annotation files, before any build.

    Each relative ``data_root`` is looked up, in this order: for the embedded dataset
    (``data/owd_shapes/``) the directory in the environment variable ``MMOWP_DATA`` when it
    is set (and only there); the working directory (as mmdet does); the checkout mmowp
    runs from or was installed from (:func:`checkout_roots`). A root found elsewhere than
    the working directory moves the datasets and evaluators that use it (absolute path).
    Then every dataset's and evaluator's ``ann_file`` must exist.

    Args:
        cfg (Config): The config; modified in place and returned.
        phases (Iterable[str]): Keys of :data:`PHASES` the run uses (``('test',)`` for
            ``tools/test.py``); missing or ``None`` dataloaders are skipped.
        search (bool): Look beyond the working directory (False when ``data_root`` was
            given on the command line).

    Raises:
        FileNotFoundError: A ``data_root`` or ``ann_file`` does not exist; the message
            names ``data_root``, the places tried and how to set it.
    """
    users: Dict[str, List[str]] = {}
    for phase in phases:
        loader_key, _ = PHASES[phase]
        for ds in _datasets(cfg[loader_key]) if cfg.get(loader_key) else []:
            root = ds.get('data_root')
            if isinstance(root, str) and root and not _is_remote(root):
                users.setdefault(root, []).append(f'{loader_key}.dataset')
    for root, used_by in users.items():
        tried = _candidates(root, search)
        found = next((path for _, path in tried if osp.isdir(path)), None)
        if found is None:
            raise FileNotFoundError(_data_root_error(root, used_by, tried, search))
        if found != root:
            _move_data_root(cfg, root, osp.abspath(found))
            if cfg.get('data_root') in (root, _dir(root)):
                cfg['data_root'] = _dir(osp.abspath(found))
    for phase in phases:
        loader_key, ev_key = PHASES[phase]
        for ds in _datasets(cfg[loader_key]) if cfg.get(loader_key) else []:
            ann = ds.get('ann_file')
            if not isinstance(ann, str) or not ann or _is_remote(ann):
                continue
            path = ann if osp.isabs(ann) else osp.join(ds.get('data_root') or '', ann)
            if not _is_remote(path) and not osp.isfile(path):
                raise FileNotFoundError(
                    f'{loader_key}.dataset.ann_file {ann!r} not found under data_root '
                    f'{ds.get("data_root")!r} ({path}); set data_root (--cfg-options '
                    'data_root=DIR/) or the ann_file')
        for ev in _as_list(cfg.get(ev_key)) if ev_key else []:
            ann = ev.get('ann_file') if isinstance(ev, dict) else None
            if isinstance(ann, str) and ann and not _is_remote(ann) and not osp.isfile(ann):
                raise FileNotFoundError(
                    f'{ev_key}.ann_file {ann!r} not found; it follows data_root '
                    '(--cfg-options data_root=DIR/) or set it with '
                    f'--cfg-options {ev_key}.ann_file=...')
    return cfg


def check_known_classes(cfg: Config, phases: Iterable[str] = ('train', 'val', 'test')) -> None:
    """Refuse a ``known_classes`` split name that does not exist, before any build.

    (Lists of category names are checked against the annotation file by the datasets.)

    Args:
        cfg (Config): The config.
        phases (Iterable[str]): Keys of :data:`PHASES` whose dataloaders and evaluators are
            checked.

    Raises:
        ValueError: Naming the config key, the value and the valid split names.
    """
    from ..datasets.splits import split_names
    valid = split_names()
    for phase in phases:
        loader_key, ev_key = PHASES[phase]
        places = [(f'{loader_key}.dataset', ds) for ds in
                  (_datasets(cfg[loader_key]) if cfg.get(loader_key) else [])]
        places += [(ev_key, ev) for ev in (_as_list(cfg.get(ev_key)) if ev_key else [])]
        for where, d in places:
            spec = d.get('known_classes') if isinstance(d, dict) else None
            if isinstance(spec, str) and spec not in valid:
                close = difflib.get_close_matches(spec, valid, n=1)
                raise ValueError(f'{where}.known_classes={spec!r} is not a split name'
                                 + (f' (did you mean {close[0]!r}?)' if close else '')
                                 + f'; valid splits: {valid} (or a list of category names)')


# -------------------------------------------------------------------------- tools
def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """Arguments shared by ``tools/train.py`` and ``tools/test.py`` (and what ``mim`` passes)."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. data_root=/data/coco/ '
                        'known_classes=voc (top-level variables reach every place that '
                        'uses them)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    # accepted for `mim train/test`, which passes --gpus N / --device cpu to single processes
    parser.add_argument('--gpus', type=int, help=argparse.SUPPRESS)
    parser.add_argument('--device', help=argparse.SUPPRESS)


def load_config(filename: str, cfg_options: Optional[Dict[str, Any]] = None,
                phases: Sequence[str] = ('train', 'val', 'test')) -> Config:
    """``Config.fromfile`` plus what a run needs before anything is built.

    Inherited variables are carried (:func:`propagate_inherited_variables`), options are
    merged (:func:`apply_cfg_options`) and the data of ``phases`` is found
    (:func:`resolve_data_root`).

    Args:
        filename (str): Config file.
        cfg_options (dict, optional): ``--cfg-options``.
        phases (Sequence[str]): Phases whose data must exist; ``()`` checks none.
    """
    from .mim import register_mmowp_config_scope
    register_mmowp_config_scope()
    if not osp.isfile(filename):
        raise FileNotFoundError(f'config file {filename!r} does not exist')
    cfg = Config.fromfile(filename)
    propagate_inherited_variables(cfg)
    if cfg_options:
        apply_cfg_options(cfg, cfg_options)
    if phases:
        check_known_classes(cfg, phases)
        resolve_data_root(cfg, phases, search=not (cfg_options or {}).get('data_root'))
    return cfg


def load_run_config(args: argparse.Namespace,
                    phases: Sequence[str] = ('train', 'val', 'test')) -> Config:
    """Load ``args.config`` with the overrides of :func:`add_runner_args` and ``--work-dir``.

    See :func:`load_config`; the work dir defaults to ``./work_dirs/<config name>``.
    Everything that can be checked without building (options, data) is checked first, so
    that a failing run leaves no work dir behind.

    Args:
        args (argparse.Namespace): Parsed arguments (``config``, ``cfg_options``,
            ``launcher``, ``local_rank``, ``work_dir``).
        phases (Sequence[str]): Phases the run uses: ``('train', 'val')`` for training,
            ``('test',)`` for testing.
    """
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    cfg = load_config(args.config, args.cfg_options, phases=())
    if 'val' in phases and cfg.get('val_cfg') is None:
        phases = [p for p in phases if p != 'val']
    check_known_classes(cfg, phases)
    resolve_data_root(cfg, phases, search=not (args.cfg_options or {}).get('data_root'))
    cfg.launcher = args.launcher
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir', None) is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    return cfg
