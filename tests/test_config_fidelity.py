"""Every FCOS-OWP paper config resolves to the paper's hyper-parameters (§5 "Implementation
Details", §3.1 "Inference", §4 recipes, §5.3 LVIS) and to the split, score mode, head and recipe of
the table row it names.

Paper readings checked here (each assertion fails on the configs before them):

* "fb" (Table 3, Appendix A) freezes the backbone, which FCOS-OWP §3.1 defines as "a ResNet [18]
  Feature Pyramid Network (FPN) backbone": ``frozen_keys`` hold ``backbone.`` *and* ``neck.``,
  and the ResNet's BN layers are in eval mode during training.
* §3.1 "The top 2000 proposals whose scores are above some defined threshold are passed to
  NMS": OWPFCOSHead configs keep the top 2000 over all FPN levels of an image
  (``nms_pre_scope='image'``), then 100 (COCO) / 300 (LVIS) boxes; the stock-FCOS and ATSS
  (Zhang et al., CVPR 2020) configs keep mmdet's per-level ``nms_pre``.
* §5.3 on LVIS "all settings are the same as on COCO dataset except that on LVIS the detection
  output 300 detection results": the COCO training pipeline, no class-balanced sampling;
  mmdet's LVIS recipe only in the variant named for it.

Which config reproduces which table row, and the row's numbers, come from the metafiles
(``configs/*/metafile.yml``, :mod:`mmowp.utils.metafile`): the expectations below are keyed by
paper row, not by file name, and a config that is the row of two tables (Table 1 and Table 3,
Table 1 and a Figure 6 cell) must meet the expectations of both.
"""
import glob
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from torch.nn.modules.batchnorm import _BatchNorm, _NormBase

import mmowp  # noqa: F401  (registration)
from mmowp.models.dense_heads import OWPFCOSHead
from mmowp.utils.metafile import load_models, paper_numbers

from ._helpers import load_tool
from .conftest import CONFIG_ROOT

#: Folders holding the FCOS-OWP paper configs (one per table row / figure cell).
PAPER_DIRS = ('baseline', 'owp', 'owp_aware', 'unknown_masking', 'lvis')
#: Folders whose configs' first line must start with their paper's name (the citation of the
#: metafile collection): every folder but the toy configs (restructured separately) and the AMP
#: variants (owned by their own change).
CITED_DIRS = PAPER_DIRS + ('atss', 'benchmarks', 'pg', 'rba')
META_MODELS = load_models()
BY_CONFIG = {osp.join(osp.dirname(CONFIG_ROOT), m['Config']): m for m in META_MODELS}
#: "fb": FCOS-OWP §3.1's backbone, "a ResNet [18] Feature Pyramid Network (FPN) backbone".
FB_KEYS = ['backbone.', 'neck.']
LOC_KEYS = ['bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
            'bbox_head.conv_iou']
CLS_KEYS = ['bbox_head.cls_convs', 'bbox_head.conv_cls']
AGNOSTIC = ('centerness', 'iou', 'sqrt(centerness*iou)')

# head settings of the rows (FCOS-OWP §3.2, Table 1)
CENTERNESS = dict(objectness=('centerness', ), score_mode='centerness', center_sampling=False,
                  iou_sampling_thr=None, conditional=False, objectness_sampling='center')
IOU = dict(CENTERNESS, objectness=('iou', ), score_mode='iou')
SQRT = dict(CENTERNESS, objectness=('centerness', 'iou'), score_mode='sqrt(centerness*iou)')
IOU_CS_IS = dict(IOU, center_sampling=True, iou_sampling_thr=0.3)
COND = dict(IOU_CS_IS, conditional=True)
ALL_SAMPLING = dict(IOU_CS_IS, objectness_sampling='all')
AWARE = dict(IOU_CS_IS, score_mode='cls*iou')


def row(split, head, recipe, masking=None, fb=False, variant=None):
    return dict(split=split, head=head, recipe=recipe, masking=masking, fb=fb, variant=variant)


def masking(thr, start, mode='pixel'):
    return dict(thr=thr, start_iter=start, mode=mode)


T1, T2, T3 = 'FCOS-OWP Table 1: ', 'FCOS-OWP Table 2: ', 'FCOS-OWP Table 3: '
#: Paper row (as the metafiles name it) -> what its config must resolve to.
EXPECTED = {
    T1 + 'Baseline logits * centerness': row('coco', 'fcos', 'joint'),
    T1 + 'OWP centerness': row('coco', CENTERNESS, 'owp'),
    T1 + 'OWP IOU': row('coco', IOU, 'owp'),
    T1 + 'OWP sqrt(centerness * IOU)': row('coco', SQRT, 'owp'),
    T1 + 'OWP IOU-CS-IS': row('coco', IOU_CS_IS, 'owp'),
    T1 + 'OWP Conditional IOU-CS-IS': row('coco', COND, 'owp'),
    T1 + 'OWP-Aware logits * IOU-CS-IS (Finetune)': row('coco', AWARE, 'finetune'),
    T1 + 'OWP-Aware logits * IOU-CS-IS (joint)': row('coco', AWARE, 'joint'),
    T1 + 'OWP-Aware joint + unknown': row('coco', AWARE, 'joint', masking(0.95, 5000)),
    'FCOS-OWP Appendix B: All Sampling': row('coco', ALL_SAMPLING, 'owp'),
    T3 + 'joint': row('coco', AWARE, 'joint'),
    T3 + 'finetune': row('coco', AWARE, 'finetune'),
    T3 + 'frozen': row('coco', AWARE, 'frozen'),
    T3 + 'joint fb': row('coco', AWARE, 'joint', fb=True),
    T3 + 'frozen fb': row('coco', AWARE, 'frozen', fb=True),
    T3 + 'finetune fb': row('coco', AWARE, 'finetune', fb=True),
    T2 + 'Baseline logits * centerness': row('lvis', 'fcos', 'joint'),
    T2 + 'OWP IOU-CS-IS': row('lvis', IOU_CS_IS, 'owp'),
    T2 + 'OWP Classification joint': row('lvis', AWARE, 'joint'),
    T2 + 'OWP Classification joint+unknown': row('lvis', AWARE, 'joint', masking(0.95, 5000)),
}
# Table 4: unknown area masking on LVIS
for _k in (0, 5, 10, 60):
    EXPECTED[f'FCOS-OWP Table 4: areas {_k}k'] = row('lvis', AWARE, 'joint',
                                                     masking(0.95, _k * 1000, 'area'))
# Figure 6 grid: {joint, finetune} x thr {0.925, 0.95} x start {5k, 10k, 30k, 60k}
for _recipe in ('joint', 'finetune'):
    for _thr in (0.925, 0.95):
        for _k in (5, 10, 30, 60):
            EXPECTED[f'FCOS-OWP Figure 6: {_recipe}, threshold {_thr}, start {_k}k'] = row(
                'coco', AWARE, _recipe, masking(_thr, _k * 1000))
#: Paper configs that are named variants of a row, not rows: config name -> expectation.
VARIANTS = {
    # the Table 2 baseline trained with mmdet's LVIS recipe
    'fcos_r50-caffe_fpn_ms-rfs-90k_lvis-base2novel.py':
        row('lvis', 'fcos', 'joint', variant='mmdet-lvis'),
}


def config_of(paper_row):
    """Path of the config the metafiles name for a paper row."""
    hits = [p for p, m in BY_CONFIG.items()
            if paper_row in [f'{m["In Collection"]} {r}' for r in m['Metadata'].get(
                'Paper Rows', [])]]
    assert len(hits) == 1, f'{paper_row}: configs {hits}'
    return hits[0]


def rows_of(path):
    m = BY_CONFIG[path]
    return [f'{m["In Collection"]} {r}' for r in m['Metadata'].get('Paper Rows', [])]


#: The OWP IOU-CS-IS checkpoint (work_dirs/<config name>/) the finetune and frozen rows start from.
OWP_CKPT = 'work_dirs/{}/iter_90000.pth'.format(
    osp.basename(config_of(T1 + 'OWP IOU-CS-IS'))[:-3])

PAPER_CONFIGS = sorted(p for d in PAPER_DIRS
                       for p in glob.glob(osp.join(CONFIG_ROOT, d, '*.py')))
BY_NAME = {osp.basename(p): p for p in PAPER_CONFIGS}


def expectation(path):
    """The expectation of a paper config: its rows' (all equal) or its variant's."""
    rows = rows_of(path)
    if not rows:
        return VARIANTS[osp.basename(path)]
    exps = [EXPECTED[r] for r in rows]
    assert all(e == exps[0] for e in exps), f'{path}: rows {rows} expect different settings'
    return exps[0]


def test_every_paper_config_has_a_row_and_every_row_a_config():
    assert set(PAPER_CONFIGS) <= set(BY_CONFIG), 'paper configs without a metafile entry'
    rows = {r: p for p in PAPER_CONFIGS for r in rows_of(p)}
    assert set(EXPECTED) - set(rows) == set(), 'rows without a config'
    assert set(rows) - set(EXPECTED) == set(), 'metafile rows without an expectation'
    assert {osp.basename(p) for p in PAPER_CONFIGS if not rows_of(p)} == set(VARIANTS)
    # Table 1 (9) + App. B (1) + Table 3 (6, 2 of them Table 1 configs) + Table 2 (4) +
    # Table 4 (4) + Figure 6 (16 cells, one of them the Table 1 "joint + unknown" config) +
    # the mmdet-recipe LVIS variant
    assert len(PAPER_CONFIGS) == 9 + 1 + 4 + 4 + 4 + 16 - 1 + 1


def evaluators(cfg):
    out = []
    for key in ('val_evaluator', 'test_evaluator'):
        ev = cfg[key]
        out.extend(ev if isinstance(ev, (list, tuple)) else [ev])
    return out


@pytest.mark.parametrize('name', sorted(BY_NAME))
def test_paper_config_resolves_to_paper_hyper_parameters(name):
    path = BY_NAME[name]
    exp = expectation(path)
    cfg = Config.fromfile(path)
    header = ''.join(line for line in open(path) if line.startswith('#'))
    assert header.startswith('# FCOS-OWP '), f'{name}: first line must name its paper'
    for paper_row in rows_of(path):   # "FCOS-OWP Table 1: ..." -> "Table 1"
        table = paper_row[len('FCOS-OWP '):].split(':')[0]
        assert table in header, f'{name}: its comment does not name {table}'

    # §5: batch 16 = 8 GPUs x 2 images, SGD 0.01 / 0.9 / 1e-4, 90k iterations, x0.1 at 60k, 80k
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.auto_scale_lr.base_batch_size == 16
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.01, 0.9, 0.0001)
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 90000
    steps = [s for s in cfg.param_scheduler if s.type == 'MultiStepLR']
    assert len(steps) == 1 and steps[0].milestones == [60000, 80000] and steps[0].gamma == 0.1
    assert steps[0].by_epoch is False

    # §3.1 inference: top 2000 of the image before NMS (stock FCOS: mmdet's per-level top 2000),
    # 100 (COCO) / 300 (LVIS) after
    test_cfg = cfg.model.test_cfg
    assert test_cfg.nms_pre == 2000
    assert test_cfg.max_per_img == (100 if exp['split'] == 'coco' else 300)
    if exp['head'] == 'fcos':
        assert 'nms_pre_scope' not in test_cfg
    else:
        assert test_cfg.get('nms_pre_scope') == 'image'

    # split: COCO VOC -> non-VOC (20 base classes) or LVIS base (1103) -> novel
    head = cfg.model.bbox_head
    known, ks, num_classes = (('voc', (10, 100), 20) if exp['split'] == 'coco'
                              else ('lvis_base', (300, ), 1103))
    assert head.num_classes == num_classes
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        ds = cfg[loader].dataset
        while 'dataset' in ds:       # ClassBalancedDataset wrapper (LVIS)
            ds = ds.dataset
        assert ds.known_classes == known, loader
    for ev in evaluators(cfg):
        assert ev.type == 'OpenWorldCocoMetric'
        assert ev.known_classes == known and tuple(ev.proposal_nums) == ks

    # §5.3: on LVIS "all settings are the same as on COCO dataset except ... 300 detection
    # results": COCO's training pipeline and loader, no class-balanced sampling; mmdet's LVIS
    # recipe (multi-scale, ClassBalancedDataset) only in the variant named for it
    if exp['split'] == 'lvis':
        assert_lvis_training(cfg, mmdet_recipe=exp['variant'] == 'mmdet-lvis')

    # head and score mode of the row
    if exp['head'] == 'fcos':
        assert head.type == 'FCOSHead'         # stock FCOS: cls * centerness
    else:
        assert head.type == 'OWPFCOSHead'
        for key, value in exp['head'].items():
            got = head.get(key)
            got = tuple(got) if isinstance(got, list) else got
            assert got == value, f'bbox_head.{key}: {got!r} != {value!r}'
        # the evaluators take class_agnostic from the model (ClassAgnosticFromModelHook): a
        # config leaves it unset or, where it states it, agrees with the score mode
        agnostic = head.score_mode in AGNOSTIC
        for ev in evaluators(cfg):
            assert ev.get('class_agnostic') in (None, agnostic), (
                f'{name}: score_mode {head.score_mode!r} is class-'
                f'{"agnostic" if agnostic else "aware"}, the evaluator says '
                f'class_agnostic={ev.get("class_agnostic")}')

    # recipe (§4, Appendix A)
    recipe = exp['recipe']
    paramwise = cfg.optim_wrapper.get('paramwise_cfg', {})
    custom = paramwise.get('custom_keys', {})
    frozen = list(paramwise.get('frozen_keys', []))
    if exp['head'] != 'fcos':
        assert head.train_cls == (recipe != 'owp')
    if recipe in ('owp', 'joint'):
        assert not custom and cfg.get('load_from') is None
    if recipe == 'finetune':
        assert cfg.load_from == OWP_CKPT
        assert {k: v.lr_mult for k, v in custom.items()} == {
            **{k: 0.1 for k in LOC_KEYS}, **{k: 1.0 for k in CLS_KEYS}}
    if recipe == 'frozen':
        assert cfg.load_from == OWP_CKPT
        assert {k: v.lr_mult for k, v in custom.items()} == {k: 1.0 for k in CLS_KEYS}
    # fb = ResNet + FPN (§3.1), BN statistics frozen as well (all stages in eval mode)
    expected_frozen = (FB_KEYS if exp['fb'] else []) + (LOC_KEYS if recipe == 'frozen' else [])
    assert sorted(frozen) == sorted(expected_frozen)
    if frozen:
        assert cfg.optim_wrapper.constructor == 'FreezeOptimWrapperConstructor'
        assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model.backbone.frozen_stages == (4 if exp['fb'] else 1)
    assert cfg.model.backbone.norm_eval is True

    # Unknown Object Masking (§3.3, Figure 6, Table 4)
    loss_cls = head.loss_cls
    if exp['masking'] is None:
        assert loss_cls.type == 'FocalLoss'
    else:
        assert loss_cls.type == 'UnknownObjectMaskedLoss' and loss_cls.use_sigmoid
        assert {k: loss_cls[k] for k in ('thr', 'start_iter', 'mode')} == exp['masking']
        inner = loss_cls.loss_cls
        assert (inner.type, inner.gamma, inner.alpha, inner.loss_weight) == (
            'FocalLoss', 2.0, 0.25, 1.0)


RECIPE_CONFIGS = [n for n, p in sorted(BY_NAME.items())
                  if expectation(p)['recipe'] in ('finetune', 'frozen')
                  and expectation(p)['masking'] is None]


@pytest.mark.parametrize('name', RECIPE_CONFIGS)
def test_recipe_optimizer_resolves_to_paper_learning_rates(name):
    """Built on the real R50-FPN model: localisation at 0.001 (finetune) or absent (frozen),
    classification at 0.01, ResNet and FPN absent in the fb variants, whose norm layers keep
    their running statistics in train mode."""
    exp = expectation(BY_NAME[name])
    cfg = Config.fromfile(BY_NAME[name])
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    ow = cfg.optim_wrapper.copy()
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type=ow.pop('constructor', 'DefaultOptimWrapperConstructor'),
        optim_wrapper_cfg=ow, paramwise_cfg=ow.pop('paramwise_cfg', None)))
    optim = ctor(model).optimizer
    names = {id(p): n for n, p in model.named_parameters()}
    lr = {names[id(p)]: g.get('lr', optim.defaults['lr'])
          for g in optim.param_groups for p in g['params']}
    loc = [n for n in names.values() if n.startswith(tuple(LOC_KEYS))]
    cls = [n for n in names.values() if n.startswith(tuple(CLS_KEYS))]
    backbone = [n for n in names.values() if n.startswith('backbone.')]
    assert loc and cls and backbone
    for n in cls:
        assert lr[n] == pytest.approx(0.01), n
    for n in loc:
        if exp['recipe'] == 'frozen':
            assert n not in lr, n
        else:
            assert lr[n] == pytest.approx(0.001), n
    neck = [n for n in names.values() if n.startswith('neck.')]
    assert neck
    if exp['fb']:
        assert not any(n in lr for n in backbone + neck)
    else:
        assert all(n in lr for n in neck)
    assert_norm_statistics_frozen(model, frozen=exp['fb'])


COCO_DATA = Config.fromfile(osp.join(CONFIG_ROOT, '_base_', 'datasets', 'coco_voc2nonvoc.py'))


def assert_lvis_training(cfg, mmdet_recipe):
    loader, coco = cfg.train_dataloader, COCO_DATA.train_dataloader
    for key in ('batch_size', 'sampler', 'batch_sampler'):
        assert loader[key] == coco[key], key
    ds = loader.dataset
    if mmdet_recipe:
        assert ds.type == 'ClassBalancedDataset' and ds.oversample_thr == 1e-3
        ds = ds.dataset
        resize = [t for t in ds.pipeline if 'Resize' in t.type]
        assert [t.type for t in resize] == ['RandomChoiceResize']
        assert sorted(s[1] for s in resize[0].scales) == list(range(640, 801, 32))
        assert ds.pipeline != COCO_DATA.train_pipeline
    else:
        assert ds.type == 'OpenWorldLVISV1Dataset', 'no dataset wrapper (class-balanced sampling)'
        assert ds.pipeline == COCO_DATA.train_pipeline
    assert ds.filter_cfg == coco.dataset.filter_cfg


def test_mmdet_lvis_recipe_variant_differs_from_its_paper_row_only_in_training_data():
    variant = Config.fromfile(BY_NAME['fcos_r50-caffe_fpn_ms-rfs-90k_lvis-base2novel.py'])
    paper = Config.fromfile(config_of(T2 + 'Baseline logits * centerness'))
    skip = ('train_dataloader', 'train_pipeline')
    assert {k: v for k, v in variant.to_dict().items() if k not in skip} == {
        k: v for k, v in paper.to_dict().items() if k not in skip}
    assert variant.train_dataloader != paper.train_dataloader


FB_CONFIGS = [n for n, p in sorted(BY_NAME.items()) if expectation(p)['fb']]


def assert_norm_statistics_frozen(model, frozen):
    """In train mode, the fb rows' ResNet BN layers are in eval mode and neither the FPN nor
    the head has a norm layer with running statistics (FPN: none; head: GroupNorm)."""
    model.train()
    bn = [m for m in model.backbone.modules() if isinstance(m, _BatchNorm)]
    assert bn
    if frozen:
        assert not any(m.training for m in bn)
    for part in (model.neck, model.bbox_head):
        assert not any(isinstance(m, _NormBase) and m.track_running_stats
                       for m in part.modules())
    assert any(isinstance(m, nn.GroupNorm) for m in model.bbox_head.modules())


@pytest.mark.parametrize('name', FB_CONFIGS)
def test_fb_rows_freeze_resnet_and_fpn(name):
    """joint fb, frozen fb and finetune fb: every ResNet and FPN parameter is frozen (not only
    the ResNet), and the constructor accepts the model (its norm-statistics check passes)."""
    cfg = Config.fromfile(BY_NAME[name])
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    ow = cfg.optim_wrapper.copy()
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type=ow.pop('constructor'), optim_wrapper_cfg=ow,
        paramwise_cfg=ow.pop('paramwise_cfg')))
    optim = ctor(model).optimizer
    in_optim = {id(p) for g in optim.param_groups for p in g['params']}
    for prefix in ('backbone.', 'neck.'):
        params = [p for n, p in model.named_parameters() if n.startswith(prefix)]
        assert params, prefix
        assert not any(p.requires_grad or id(p) in in_optim for p in params), prefix


ALL_CONFIGS = sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
                     if osp.basename(osp.dirname(p)) not in ('_base_', 'toy'))


#: Heads of configs that claim parity with mmdet's FCOS: the stock-FCOS baselines (and the
#: policy-gradient fine-tune of that baseline) and the ATSS (Zhang et al., CVPR 2020) rows.
MMDET_PARITY_HEADS = ('FCOSHead', 'ATSSFCOSHead', 'PGFCOSHead')


@pytest.mark.parametrize('path', ALL_CONFIGS, ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_nms_pre_scope_image_exactly_on_owp_heads(path):
    """FCOS-OWP §3.1 top 2000 per image on every config with an OWP head (OWPFCOSHead and its
    subclasses: the paper rows and the configs built on them, ATSS-IS, RbA, policy gradient);
    mmdet's per-level nms_pre (key absent) on the configs that claim parity with mmdet's FCOS."""
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    head_type = cfg.model.bbox_head.type
    test_cfg = cfg.model.test_cfg
    if head_type in MMDET_PARITY_HEADS:
        assert 'nms_pre_scope' not in test_cfg
    else:
        assert issubclass(MODELS.get(head_type), OWPFCOSHead), head_type
        assert test_cfg.get('nms_pre_scope') == 'image'
        assert test_cfg.nms_pre == 2000


FEATMAP_SIZES = [(100, 168), (50, 84), (25, 42), (13, 21), (7, 11)]  # 800x1333, padded to 32


def pre_nms_candidates(path, seed=0):
    """Build the head of a paper config with its test_cfg and run ``predict_by_feat`` without
    NMS on random logits of one 800x1333 image (every level holds more than nms_pre
    (location, class) pairs above score_thr except the two coarsest): the boxes that NMS
    would see, the per-level class probabilities and objectness probabilities."""
    cfg = Config.fromfile(path)
    init_default_scope('mmdet')
    head = MODELS.build(dict(cfg.model.bbox_head, test_cfg=cfg.model.test_cfg))
    gen = torch.Generator().manual_seed(seed)
    num_obj = len(getattr(head, 'objectness', ('centerness', )))
    cls = [torch.randn(1, head.cls_out_channels, h, w, generator=gen) for h, w in FEATMAP_SIZES]
    obj = [torch.randn(1, num_obj, h, w, generator=gen) for h, w in FEATMAP_SIZES]
    box = [torch.full((1, 4, h, w), 50.0) for h, w in FEATMAP_SIZES]   # never degenerate
    meta = dict(img_shape=(800, 1333), ori_shape=(800, 1333), scale_factor=(1.0, 1.0))
    with torch.no_grad():
        res = head.predict_by_feat(cls, box, obj, batch_img_metas=[meta], rescale=False,
                                   with_nms=False)[0]
    return cfg.model.test_cfg, res, [c.sigmoid() for c in cls], [o.sigmoid() for o in obj]


def test_paper_config_passes_top_2000_of_the_image_to_nms():
    """OWP IOU-CS-IS (score = predicted IoU): exactly the 2000 highest IoU scores above
    score_thr over all levels reach NMS, not 2000 per level (mmdet: about 5,400 here)."""
    test_cfg, res, _, obj = pre_nms_candidates(config_of(T1 + 'OWP IOU-CS-IS'))
    scores = torch.cat([o.flatten() for o in obj])
    expected = scores[scores > test_cfg.score_thr].topk(test_cfg.nms_pre).values
    assert len(res) == test_cfg.nms_pre == 2000
    assert torch.equal(res.scores.sort(descending=True).values, expected)
    per_level = sum(min(int((o > test_cfg.score_thr).sum()), 2000) for o in obj)
    assert per_level > 2 * test_cfg.nms_pre    # what the per-level rule would have passed


@pytest.mark.parametrize('paper_row', [T1 + 'OWP-Aware logits * IOU-CS-IS (joint)',
                                       T2 + 'OWP IOU-CS-IS'])
def test_owp_aware_and_lvis_configs_pass_top_2000_of_the_image_to_nms(paper_row):
    test_cfg, res, _, _ = pre_nms_candidates(config_of(paper_row))
    assert test_cfg.nms_pre_scope == 'image' and len(res) == test_cfg.nms_pre == 2000


def test_stock_fcos_baseline_keeps_mmdet_top_2000_per_level():
    """The stock-FCOS baseline (FCOSHead, parity with mmdet): 2000 (location, class) pairs
    per level, as mmdet's FCOSHead."""
    test_cfg, res, cls, _ = pre_nms_candidates(config_of(T1 + 'Baseline logits * centerness'))
    expected = sum(min(int((c > test_cfg.score_thr).sum()), test_cfg.nms_pre) for c in cls)
    assert len(res) == expected > 2 * test_cfg.nms_pre


# --------------------------------------------------------------------------- metafiles
EVERY_CONFIG = sorted(p for p in glob.glob(osp.join(CONFIG_ROOT, '*', '*.py'))
                      if osp.basename(osp.dirname(p)) not in ('_base_', 'toy'))


def test_metafiles_list_every_config_once():
    """One metafile entry per config (outside the toy configs), named as its file, in the
    metafile of its folder; every entry's config exists."""
    configs = [m['Config'] for m in META_MODELS]
    assert len(configs) == len(set(configs))
    assert set(BY_CONFIG) == set(EVERY_CONFIG)
    for path, m in BY_CONFIG.items():
        assert m['Name'] == osp.basename(path)[:-3]
        assert osp.dirname(m['Metafile']) == osp.dirname(m['Config']), m['Config']


@pytest.mark.parametrize('path', [p for p in EVERY_CONFIG
                                  if osp.basename(osp.dirname(p)) in CITED_DIRS],
                         ids=lambda p: osp.relpath(p, CONFIG_ROOT))
def test_first_line_names_the_paper(path):
    """The first line starts with the name of the paper of the config's metafile collection
    (FCOS-OWP, ATSS (Zhang et al., CVPR 2020), ...), never a file number of it."""
    citation = BY_CONFIG[path]['Collection']['Metadata']['Citation']
    assert open(path).readline().startswith(f'# {citation} '), (
        f'{path}: the first line must start with "# {citation} "')


@pytest.mark.parametrize('name', [n for n, p in sorted(BY_NAME.items())
                                  if BY_CONFIG[p].get('Results')])
def test_paper_numbers_fit_the_config(name):
    """The metafile's numbers of a row are those the config's evaluation reports: AR@N for
    the evaluator's N (COCO 10 / 100, LVIS 300), and base AP exactly where the paper has one,
    i.e. where the config keeps the classes (the paper prints N/A for class-agnostic rows)."""
    cfg = Config.fromfile(BY_NAME[name])
    results = BY_CONFIG[BY_NAME[name]]['Results']
    assert len(results) == 1
    split = expectation(BY_NAME[name])['split']
    assert results[0]['Dataset'] == {'coco': 'COCO VOC -> non-VOC',
                                     'lvis': 'LVIS v1 base -> novel'}[split]
    numbers = paper_numbers(BY_NAME[name])
    assert numbers
    for ev in evaluators(cfg):
        nums = {f'AR{n}' for n in ev.proposal_nums}
        for metric in numbers:
            group, kind = metric.split()
            assert group in ('base', 'novel') and (kind == 'AP' or kind in nums), metric
    # what the evaluation will be: class-agnostic when the head's score mode is (the
    # evaluator's class_agnostic comes from the model), class-aware for a stock FCOS head
    head = cfg.model.bbox_head
    agnostic = head.type != 'FCOSHead' and head.get('score_mode') in AGNOSTIC
    assert ('base AP' in numbers) == (not agnostic), (
        f'{name}: paper base AP {numbers.get("base AP", "N/A")}, score mode '
        f'{head.get("score_mode")!r}')


def test_frozen_fb_row_keeps_the_owp_proposals():
    """Table 3's frozen fb row freezes the whole localisation path of the OWP IOU-CS-IS
    checkpoint, so its class-agnostic non-VOC recall is that row's: the paper prints the same
    AR10 / AR100 in both tables (what tests/test_recipes.py checks on proposals)."""
    frozen_fb = paper_numbers(T3 + 'frozen fb')
    owp = paper_numbers(T1 + 'OWP IOU-CS-IS')
    for metric in ('novel AR10', 'novel AR100'):
        assert frozen_fb[metric] == owp[metric]
    # finetune fb's slowed localisation branches move its proposals a little
    assert paper_numbers(T3 + 'finetune fb')['novel AR100'] != owp['novel AR100']


def test_paper_numbers_by_row_and_by_config_agree():
    path = config_of(T1 + 'OWP IOU-CS-IS')
    by_row = paper_numbers(T1 + 'OWP IOU-CS-IS')
    assert by_row == paper_numbers(path) == paper_numbers(osp.basename(path)[:-3])
    assert by_row == paper_numbers('table 1:   owp iou-cs-is')   # one paper has such a row
    with pytest.raises(KeyError, match='neither a config nor a paper row'):
        paper_numbers('FCOS-OWP Table 1: OWP IOU-CS-IS-XL')
    rba = [p for p, m in BY_CONFIG.items() if len(m.get('Results') or []) > 1][0]
    with pytest.raises(ValueError, match='several datasets'):
        paper_numbers(rba)
    assert set(paper_numbers(rba, dataset='Road Anomaly')) == {'AUROC', 'AP', 'FPR95'}
    # a figure cell: a row without numbers
    assert paper_numbers('FCOS-OWP Figure 6: finetune, threshold 0.925, start 30k') == {}


def test_readme_table_lists_every_row_with_its_numbers():
    """tools/metafile_table.py: a line per (paper row, config) under the row's table, with
    every number of a one-dataset row (a figure's table lists its cells without numbers)."""
    tool = load_tool('metafile_table.py', 'metafile_table')
    sections = {}
    for block in tool.tables().split('#### ')[1:]:
        sections[block.split(' (')[0]] = block.splitlines()
    for path, m in BY_CONFIG.items():
        for paper_row in rows_of(path):
            table, label = paper_row.split(': ', 1)
            hits = [ln for ln in sections[table]
                    if ln.startswith(f'| {label} | `{m["Config"]}` |')]
            assert len(hits) == 1, paper_row
            if ' Figure ' in table:
                assert hits[0].count('|') == 3
            elif len(m['Results']) == 1:
                cells = hits[0].split('|')[3:-1]
                assert sorted(float(c) for c in cells if c.strip() != '-') == sorted(
                    paper_numbers(path).values())
