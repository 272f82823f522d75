"""The ``_base_`` inheritance of the configs stays short and flat, as mmdet's.

Definitions used below (``_base_`` entries are resolved as MMEngine resolves them):

* **chain length** of a config: the number of files on the longest path of ``_base_``
  inheritance from the config to a file without ``_base_``, the config included, counting
  this repository's files and mmdet's own (``mmdet::``) bases alike. mmdet's bases used
  here have no ``_base_`` (``mmdet::_base_/default_runtime.py`` is 1 file), so the limit of
  4 files holds for all of them: a leaf, maybe the leaf it varies or a family base, then
  ``_base_/`` files (mmdet's own configs are 2-4 files deep).
* **leaf**: a config outside ``configs/_base_/``. A **family base** is a file under
  ``configs/_base_/families/`` holding what the cells of one grid share (e.g. the Figure 6
  cells of FCOS-OWP); it is not a paper row.
* **paper row**: a leaf whose metafile entry lists ``Paper Rows`` (a row or cell of a table
  or figure of the paper of its collection). A **sibling cell** of a paper row is another
  paper row of the same paper (same collection): a paper row never inherits one, directly
  or through other files, so editing one paper row never changes another.
* **name** of a leaf: mmdet's ``{algorithm}_{backbone}_{neck}_{schedule}_{dataset}``. The
  algorithm field carries the paper row (``owp-fcos-iou-cs-is``,
  ``owp-aware-fcos-iou-cs-is-joint``, ``rba-score-owp-aware-fcos-iou-cs-is-joint``); one
  backbone spelling, mmdet's ``r50-caffe`` for the caffe-style ResNet-50 of the paper configs
  (``r18`` for a torchvision-style ResNet-18); the neck ``fpn``; the schedule in iterations
  (``90k``, ``2k``, ``12656it``; training-setting prefixes as mmdet's ``amp-1x``:
  ``ms-rfs-90k``), which is the config's ``max_iters`` (or, for an evaluation-only config,
  the iteration of the checkpoint it tests); the dataset as the split it trains on
  (``coco-voc2nonvoc``, ``lvis-base2novel``, ``coco``, ...).
* **evaluation-only** config: a leaf that only tests a checkpoint (no ``train_cfg``; its
  metafile entry says ``Evaluation Only``). None of the files it inherits sets a training
  recipe (``train_cfg``, ``optim_wrapper``, ``param_scheduler``: no schedule, no training
  leaf).
"""
import ast
import glob
import os.path as osp
import re
from functools import cache
from typing import List, Tuple

import pytest
from mmengine.config import Config

from mmowp.utils.metafile import load_models

from .conftest import CONFIG_ROOT, REPO_ROOT

MAX_CHAIN = 4
BASE_ROOT = osp.join(CONFIG_ROOT, '_base_')
ALL_FILES = sorted(glob.glob(osp.join(CONFIG_ROOT, '**', '*.py'), recursive=True))
LEAVES = [p for p in ALL_FILES if not p.startswith(BASE_ROOT + osp.sep)]
META = {osp.join(REPO_ROOT, m['Config']): m for m in load_models()}
TRAINING_KEYS = ('train_cfg', 'optim_wrapper', 'param_scheduler')


@cache
def bases(path: str) -> Tuple[str, ...]:
    """The files a config names in ``_base_``, resolved as MMEngine does."""
    return tuple(osp.normpath(Config._get_cfg_path(b, path)[0])
                 for b in Config._get_base_files(path))


@cache
def chain_length(path: str) -> int:
    return 1 + max((chain_length(b) for b in bases(path)), default=0)


def ancestors(path: str) -> List[str]:
    """Every file the config inherits from, directly or through other files."""
    out, todo = [], list(bases(path))
    while todo:
        b = todo.pop()
        if b not in out:
            out.append(b)
            todo.extend(bases(b))
    return out


def longest_chain(path: str) -> List[str]:
    if not bases(path):
        return [path]
    return [path] + max((longest_chain(b) for b in bases(path)), key=len)


def is_leaf(path: str) -> bool:
    return path.startswith(CONFIG_ROOT + osp.sep) and not path.startswith(BASE_ROOT + osp.sep)


def rel(path: str) -> str:
    return osp.relpath(path, CONFIG_ROOT) if path.startswith(CONFIG_ROOT) else path


def params(paths):
    return [pytest.param(p, id=rel(p)) for p in paths]


def test_mmdet_bases_count_as_one_file():
    """The mmdet bases the configs inherit end there (so counting them costs one file)."""
    mmdet = {b for p in ALL_FILES for b in ancestors(p) if not b.startswith(CONFIG_ROOT)}
    assert mmdet, 'no mmdet:: base found'
    assert all(chain_length(b) == 1 for b in mmdet), sorted(mmdet)


@pytest.mark.parametrize('path', params(ALL_FILES))
def test_base_chain_is_at_most_4_files(path):
    chain = longest_chain(path)
    assert len(chain) <= MAX_CHAIN, (
        f'{rel(path)}: _base_ chain of {len(chain)} files: ' + ' -> '.join(map(rel, chain)))


@pytest.mark.parametrize('path', params(LEAVES))
def test_no_chain_of_leaves(path):
    """A leaf inherits at most one other leaf (the leaf it varies), and that one inherits
    only ``_base_/`` files: variants hang off a row, never off a variant of it."""
    leaves = [b for b in ancestors(path) if is_leaf(b)]
    assert len(leaves) <= 1, f'{rel(path)} inherits the leaves {[rel(b) for b in leaves]}'
    for leaf in leaves:
        assert not [b for b in ancestors(leaf) if is_leaf(b)], rel(leaf)
    family = [b for b in bases(path) if b.startswith(osp.join(BASE_ROOT, 'families'))]
    assert not (family and leaves), f'{rel(path)}: a family base and a leaf'


PAPER_ROWS = sorted(p for p, m in META.items() if m['Metadata'].get('Paper Rows'))


@pytest.mark.parametrize('path', PAPER_ROWS, ids=rel)
def test_paper_row_inherits_no_sibling_cell(path):
    """A paper row inherits no other row or cell of its paper (a grid cell inherits its
    family base, a row the ``_base_/`` files), so no edit of one row changes another."""
    coll = META[path]['In Collection']
    siblings = [rel(b) for b in ancestors(path) if b in META and b != path
                and META[b]['In Collection'] == coll and META[b]['Metadata'].get('Paper Rows')]
    assert not siblings, f'{rel(path)} ({coll}) inherits the {coll} rows {siblings}'


def sets_key(path: str, keys) -> List[str]:
    """Top-level names among ``keys`` that a config file assigns."""
    tree = ast.parse(open(path).read())
    return [t.id for node in tree.body if isinstance(node, ast.Assign)
            for t in node.targets if isinstance(t, ast.Name) and t.id in keys]


EVAL_ONLY = sorted(p for p, m in META.items() if m['Metadata'].get('Evaluation Only'))


def test_evaluation_only_configs_are_the_ones_without_training():
    assert EVAL_ONLY, 'no evaluation-only config in the metafiles'
    no_training = sorted(p for p in LEAVES if p in META
                         and 'train_cfg' not in Config.fromfile(p))
    assert no_training == EVAL_ONLY


@pytest.mark.parametrize('path', EVAL_ONLY, ids=rel)
def test_evaluation_only_config_inherits_no_training_recipe(path):
    recipes = {rel(b): sets_key(b, TRAINING_KEYS) for b in [path] + ancestors(path)
               if b.endswith('.py') and sets_key(b, TRAINING_KEYS)}
    assert not recipes, f'{rel(path)} tests a checkpoint but inherits training: {recipes}'
    cfg = Config.fromfile(path)
    assert cfg.load_from and cfg.test_cfg.type == 'TestLoop'
    assert not any(k in cfg for k in TRAINING_KEYS)


NAME = re.compile(r'^(?P<algorithm>[a-z0-9]+(?:-[a-z0-9]+)*)_(?P<backbone>[a-z0-9-]+)_'
                  r'(?P<neck>[a-z0-9-]+)_(?P<schedule>(?:[a-z0-9]+-)*(?P<iters>\d+)(?P<unit>k|it))_'
                  r'(?P<dataset>[a-z0-9]+(?:-[a-z0-9]+)*)$')
#: dataset field -> the known classes of the training split (None: mmdet's CocoDataset, 80).
DATASETS = {'coco-voc2nonvoc': 'voc', 'lvis-base2novel': 'lvis_base', 'coco': None,
            'coco-person2nonperson': 'person', 'coco2lvis-noncoco': 'coco', 'coco2uvo': 'coco',
            'owd-shapes': 'owd_base',
            # the toy oracle: every class of the generated dataset annotated
            'owd-shapes-all': ('circle', 'square', 'triangle', 'star', 'cross', 'hexagon',
                               'diamond', 'ellipse', 'arrow', 'lshape')}


@pytest.mark.parametrize('path', params(LEAVES))
def test_name_follows_the_scheme(path):
    name = osp.basename(path)[:-3]
    m = NAME.match(name)
    assert m, f'{name}: not {{algorithm}}_{{backbone}}_{{neck}}_{{schedule}}_{{dataset}}'
    assert 'fcos' in m['algorithm'].split('-'), name
    cfg = Config.fromfile(path)
    backbone = cfg.model.backbone
    assert backbone.type == 'ResNet', name
    spelling = f'r{backbone.depth}' + ('-caffe' if backbone.get('style') == 'caffe' else '')
    assert m['backbone'] == spelling, f'{name}: backbone field {m["backbone"]!r}, not {spelling!r}'
    assert m['neck'] == cfg.model.neck.type.lower() == 'fpn', name
    iters = int(m['iters']) * (1000 if m['unit'] == 'k' else 1)
    if 'train_cfg' in cfg:
        assert cfg.train_cfg.max_iters == iters, f'{name}: max_iters {cfg.train_cfg.max_iters}'
    else:   # evaluation only: the checkpoint it tests
        assert cfg.load_from.endswith(f'/iter_{iters}.pth'), f'{name}: {cfg.load_from}'
    ds = cfg.train_dataloader.dataset
    while 'dataset' in ds:   # dataset wrappers
        ds = ds.dataset
    assert m['dataset'] in DATASETS, name
    assert ds.get('known_classes') == DATASETS[m['dataset']], (
        f'{name}: trains on known_classes={ds.get("known_classes")!r}')


TOY_BASE = osp.join(BASE_ROOT, 'toy_base.py')
TOY_LEAVES = [p for p in LEAVES if rel(p).startswith('toy' + osp.sep)]


@pytest.mark.parametrize('path', params(TOY_LEAVES))
def test_toy_config_keeps_the_toy_runtime(path):
    """The toy families restate the runtime of ``_base_/toy_base.py`` (inheriting it would
    make their leaves 5 files deep): every toy config keeps it, with a checkpoint at the end
    of its schedule."""
    base, cfg = Config.fromfile(TOY_BASE), Config.fromfile(path)
    assert cfg.randomness == base.randomness and cfg.env_cfg == base.env_cfg, rel(path)
    ours, theirs = cfg.default_hooks.checkpoint, base.default_hooks.checkpoint
    assert ours.by_epoch == theirs.by_epoch and ours.max_keep_ckpts == theirs.max_keep_ckpts
    assert ours.interval == cfg.train_cfg.max_iters, rel(path)
    assert cfg.default_hooks.logger.type == base.default_hooks.logger.type
