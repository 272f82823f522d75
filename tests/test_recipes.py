"""OWP-aware training recipes (FCOS-OWP §4, Appendix A / Table 3) as configs, run through
MMEngine's Runner on tiny toy runs: frozen parameters stay bit-identical with no optimizer
state, "frozen fb" (ResNet + FPN + localisation branches frozen) keeps the OWP checkpoint's
class-agnostic proposals bit for bit, finetune parameter groups carry the configured learning
rates, and a resumed run keeps freezing, learning rates and the Unknown Object Masking
schedule."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmdet.registry import DATASETS, MODELS, OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint

import mmowp  # noqa: F401  (registration)
from mmowp.engine.optimizers import FreezeOptimWrapperConstructor
from mmowp.utils.config import apply_data_root

from .conftest import CONFIG_ROOT

TOY = osp.join(CONFIG_ROOT, 'toy')
OWP_TOY = osp.join(TOY, 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py')
LOC_KEYS = ('bbox_head.reg_convs', 'bbox_head.conv_reg', 'bbox_head.scales',
            'bbox_head.conv_iou')
CLS_KEYS = ('bbox_head.cls_convs', 'bbox_head.conv_cls')
#: "fb" = frozen backbone = "a ResNet [18] Feature Pyramid Network (FPN) backbone" (FCOS-OWP §3.1)
FB_KEYS = ('backbone.', 'neck.')


def recipe(name):
    return osp.join(TOY, f'owp-aware-fcos-iou-cs-is-{name}_r18_fpn_1500it_owd-shapes.py')


@pytest.fixture(scope='module')
def owp_ckpt(tmp_path_factory):
    """A stand-in for the OWP IOU-CS-IS checkpoint that finetune/frozen start from."""
    cfg = Config.fromfile(OWP_TOY)
    init_default_scope('mmdet')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():   # make every parameter distinguishable from a fresh init
        for p in model.parameters():
            p.add_(0.01)
    path = str(tmp_path_factory.mktemp('owp') / 'owp_iou-cs-is.pth')
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return path


def toy_cfg(path, data_root, work_dir, iters, load_from=None):
    cfg = Config.fromfile(path)
    apply_data_root(cfg, data_root)
    cfg.work_dir = work_dir
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters
    cfg.train_dataloader.batch_size = 2
    for key in ('val_dataloader', 'val_cfg', 'val_evaluator', 'test_dataloader', 'test_cfg',
                'test_evaluator'):
        cfg[key] = None
    cfg.default_hooks.checkpoint.interval = 2
    cfg.default_hooks.logger.interval = 1
    cfg.load_from = load_from
    cfg.randomness = dict(seed=0)
    return cfg


def names_by_param(model):
    return {id(p): n for n, p in model.named_parameters()}


def optimizer_names(runner):
    ids = names_by_param(runner.model)
    return {ids[id(p)]: group for group in runner.optim_wrapper.optimizer.param_groups
            for p in group['params']}


def load_state(path):
    return torch.load(path, map_location='cpu', weights_only=False)['state_dict']


@pytest.mark.parametrize('name,frozen_prefixes', [
    ('frozen', LOC_KEYS),
    ('frozen-fb', FB_KEYS + LOC_KEYS),
    ('joint-fb', FB_KEYS),
    ('finetune-fb', FB_KEYS),
])
def test_frozen_params_bit_identical_without_optimizer_state(tiny_owd, tmp_path, owp_ckpt, name,
                                                             frozen_prefixes):
    cfg = toy_cfg(recipe(name), tiny_owd, str(tmp_path / name), iters=1, load_from=owp_ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    start = load_state(owp_ckpt)
    model = runner.model
    frozen = [n for n, _ in model.named_parameters() if n.startswith(frozen_prefixes)]
    assert frozen and len(frozen) == len(
        FreezeOptimWrapperConstructor.frozen_parameter_names(model, frozen_prefixes))
    in_optim = optimizer_names(runner)
    state = runner.optim_wrapper.optimizer.state
    params = dict(model.named_parameters())
    for n in frozen:
        assert torch.equal(params[n], start[n]), f'{n} changed'
        assert not params[n].requires_grad and params[n].grad is None, n
        assert n not in in_optim, f'{n} is in the optimizer'
        assert params[n] not in state or not state[params[n]], f'{n} has optimizer state'
    trained = [n for n in in_optim if not torch.equal(params[n], start[n])]
    assert any(n.startswith(CLS_KEYS) for n in trained), 'the classifier was not trained'
    assert set(in_optim) == {n for n in params if n not in frozen}
    if 'backbone.' in frozen_prefixes:
        # the frozen backbone's BN statistics are not updated either (ResNet frozen_stages=4)
        assert all(torch.equal(v, start[k]) for k, v in model.state_dict().items()
                   if k.startswith('backbone.') and 'running' in k)


def class_agnostic_proposals(model, batch):
    """Test-time proposals (boxes, scores, labels per image) of ``model`` on ``batch``."""
    model.eval()
    with torch.no_grad():
        out = model.test_step(batch)
    return [(r.pred_instances.bboxes, r.pred_instances.scores, r.pred_instances.labels)
            for r in out]


@pytest.mark.parametrize('neck_frozen', [True, False], ids=['config', 'old-config-neck-trained'])
def test_frozen_fb_keeps_owp_proposals_bit_identical(tiny_owd, tmp_path, owp_ckpt, neck_frozen):
    """FCOS-OWP Table 3: "frozen fb" has exactly the non-VOC AR10/AR100 of the OWP IOU-CS-IS row
    (13.08 / 30.19), so its whole localisation path -- ResNet, FPN, regression tower, IoU
    branch -- is the OWP checkpoint's. After training steps of the toy "frozen fb" config (SGD
    with momentum and weight decay, lr 0.1 so that anything unfrozen moves), its class-agnostic
    proposals (the OWP row's score_mode) equal the loaded OWP checkpoint's bit for bit. With the
    FPN left trainable, as the fb configs did before, they do not (the control case)."""
    cfg = toy_cfg(recipe('frozen-fb'), tiny_owd, str(tmp_path / 'frozen-fb'), iters=3,
                  load_from=owp_ckpt)
    # SGD with momentum and weight decay whatever the toy recipe's optimizer: both move a
    # parameter that is not frozen even when its gradient is 0
    cfg.optim_wrapper.optimizer = dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert 'neck.' in cfg.optim_wrapper.paramwise_cfg.frozen_keys
    if not neck_frozen:
        cfg.optim_wrapper.paramwise_cfg.frozen_keys.remove('neck.')
    runner = Runner.from_cfg(cfg)
    runner.train()
    trained = runner.model
    start = load_state(owp_ckpt)
    params = dict(trained.named_parameters())
    assert any(not torch.equal(params[n], start[n]) for n in params
               if n.startswith(CLS_KEYS)), 'the classifier did not train'

    owp_cfg = Config.fromfile(OWP_TOY)
    apply_data_root(owp_cfg, tiny_owd)
    init_default_scope('mmdet')
    owp = MODELS.build(owp_cfg.model)
    load_checkpoint(owp, owp_ckpt, map_location='cpu', strict=True, logger='silent')
    # score the trained frozen-fb weights as the OWP row does (class-agnostic), same test_cfg
    assert owp.bbox_head.class_agnostic and owp.bbox_head.score_mode == 'iou'
    fb_model = copy.deepcopy(cfg.model)
    fb_model.bbox_head.score_mode = owp_cfg.model.bbox_head.score_mode
    scored = MODELS.build(fb_model)
    scored.load_state_dict(trained.state_dict())
    assert scored.bbox_head.class_agnostic
    assert scored.bbox_head.test_cfg == owp.bbox_head.test_cfg

    dataset = DATASETS.build(owp_cfg.test_dataloader.dataset)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    got = class_agnostic_proposals(scored, batch)
    ref = class_agnostic_proposals(owp, batch)
    assert all(len(b) > 0 for b, _, _ in ref)
    identical = all(torch.equal(x, y) for g, r in zip(got, ref) for x, y in zip(g, r))
    assert identical == neck_frozen
    if neck_frozen:   # the whole localisation path and the backbone's BN statistics
        state = trained.state_dict()
        loc = [k for k in state if k.startswith(FB_KEYS + LOC_KEYS)]
        assert loc and all(torch.equal(state[k], start[k]) for k in loc)


def test_finetune_param_groups_carry_configured_lrs(tiny_owd, tmp_path, owp_ckpt):
    cfg = toy_cfg(recipe('finetune'), tiny_owd, str(tmp_path / 'ft'), iters=1,
                  load_from=owp_ckpt)
    runner = Runner.from_cfg(cfg)
    runner.train()
    groups = optimizer_names(runner)
    assert set(groups) == {n for n, p in runner.model.named_parameters()}
    base = cfg.optim_wrapper.optimizer.lr  # the toy recipe's (FCOS-OWP: 0.01)
    bias_mult = cfg.optim_wrapper.paramwise_cfg.get('bias_lr_mult', 1.0)
    seen = set()
    for n, group in groups.items():
        if n.startswith(LOC_KEYS):
            expected = 0.1 * base
        elif n.startswith(CLS_KEYS):
            expected = base
        else:   # backbone / neck: default lr, bias_lr_mult (mmdet's 2 with SGD) for conv biases
            is_bias = n.endswith('.bias') and '.bn' not in n and 'norm' not in n \
                and 'downsample.1' not in n
            expected = bias_mult * base if is_bias else base
        assert group['initial_lr'] == pytest.approx(expected), n
        seen.add(expected)
    assert any(v == pytest.approx(0.1 * base) for v in seen)
    assert any(v == pytest.approx(base) for v in seen)
    # the finetune starts from the OWP checkpoint
    start = load_state(owp_ckpt)
    sd = runner.model.state_dict()
    assert torch.allclose(sd['bbox_head.conv_reg.weight'], start['bbox_head.conv_reg.weight'],
                          atol=1e-3)


def test_joint_trains_every_branch_at_base_lr(tiny_owd):
    cfg = Config.fromfile(recipe('joint'))
    init_default_scope('mmdet')
    assert cfg.model.bbox_head.train_cls and cfg.model.bbox_head.score_mode == 'cls*iou'
    assert 'custom_keys' not in cfg.optim_wrapper.get('paramwise_cfg', {})
    model = MODELS.build(cfg.model)
    assert all(p.requires_grad for p in model.bbox_head.parameters())


def masked_frozen_cfg(data_root, work_dir, iters, load_from):
    cfg = toy_cfg(recipe('frozen'), data_root, work_dir, iters, load_from)
    cfg.model.bbox_head.loss_cls = dict(
        type='UnknownObjectMaskedLoss', use_sigmoid=True, thr=0.05, start_iter=3,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0))
    return cfg


def test_resume_keeps_freezing_lrs_and_masking_schedule(tiny_owd, tmp_path, owp_ckpt):
    work = str(tmp_path / 'resume')
    Runner.from_cfg(masked_frozen_cfg(tiny_owd, work, 2, owp_ckpt)).train()
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    cfg = masked_frozen_cfg(tiny_owd, work, 4, None)
    cfg.resume = True     # latest checkpoint of work_dir, as tools/train.py --resume
    resumed = Runner.from_cfg(cfg)
    resumed.train()
    assert resumed.iter == 4

    straight = Runner.from_cfg(masked_frozen_cfg(tiny_owd, str(tmp_path / 'straight'), 4,
                                                 owp_ckpt))
    straight.train()

    # masking: off for iterations 0-2, on from start_iter=3, in both runs
    for runner in (resumed, straight):
        hist = runner.message_hub.get_scalar('train/num_unknown_masked').data[0].tolist()
        assert len(hist) == 4 and hist[:3] == [0, 0, 0] and hist[3] > 0, hist
    # learning rates and parameter groups as the uninterrupted run
    a, b = optimizer_names(resumed), optimizer_names(straight)
    assert a.keys() == b.keys()
    for n in a:
        assert a[n]['lr'] == pytest.approx(b[n]['lr']), n
        assert a[n]['initial_lr'] == pytest.approx(b[n]['initial_lr']), n
    # frozen parameters: still the OWP checkpoint's, no gradient, no optimizer state
    start = load_state(owp_ckpt)
    params = dict(resumed.model.named_parameters())
    frozen = [n for n in params if n.startswith(LOC_KEYS)]
    assert frozen
    for n in frozen:
        assert torch.equal(params[n], start[n]) and not params[n].requires_grad
        assert n not in a
    saved = torch.load(osp.join(work, 'iter_4.pth'), map_location='cpu', weights_only=False)
    assert len(saved['optimizer']['param_groups']) == len(a)


def test_constructor_rejects_unknown_keys_and_unsafe_ddp():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    optim = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
    ctor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
        type='FreezeOptimWrapperConstructor', optim_wrapper_cfg=optim,
        paramwise_cfg=dict(frozen_keys=['bbox_head.conv_iuo'])))
    with pytest.raises(ValueError, match='conv_iuo'):
        ctor(model)
    with pytest.raises(TypeError, match='frozen_keys'):
        FreezeOptimWrapperConstructor(optim, dict(frozen_keys='0.weight'))

    class FakeDDP(nn.Module):
        def __init__(self, module):
            super().__init__()
            self.module = module
            self.find_unused_parameters = False

    ctor = FreezeOptimWrapperConstructor(optim, dict(frozen_keys=['0.']))
    with pytest.raises(RuntimeError, match='find_unused_parameters=True'):
        ctor(FakeDDP(model))
    wrapper = ctor(model)
    in_optim = {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    assert in_optim == {id(p) for p in model[1].parameters()}
    assert not any(p.requires_grad for p in model[0].parameters())


def test_constructor_rejects_frozen_norm_layers_that_update_statistics():
    """Frozen parameters are not enough: a BN layer in train mode still updates its running
    mean/var, which changes a "frozen" backbone's output. The constructor names such layers
    and accepts mmdet's switches (ResNet frozen_stages / norm_eval) that put them in eval mode."""
    init_default_scope('mmdet')
    optim = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9))

    def model(**resnet):
        return nn.ModuleDict(dict(
            backbone=MODELS.build(dict(type='ResNet', depth=18, base_channels=8,
                                       norm_cfg=dict(type='BN'), **resnet)),
            head=nn.Conv2d(64, 1, 1)))

    def build(keys, **resnet):
        net = model(**resnet)
        return net, FreezeOptimWrapperConstructor(optim, dict(frozen_keys=list(keys)))

    net, ctor = build(['backbone.'], frozen_stages=-1, norm_eval=False)
    with pytest.raises(ValueError, match=r'running statistics.*backbone\.bn1'):
        ctor(net)
    net, ctor = build(['backbone.layer2'], frozen_stages=1, norm_eval=False)
    with pytest.raises(ValueError, match=r'backbone\.layer2\.0\.bn1'):
        ctor(net)
    for keys, resnet in ((['backbone.'], dict(frozen_stages=4, norm_eval=False)),
                         (['backbone.'], dict(frozen_stages=-1, norm_eval=True)),
                         (['backbone.layer1'], dict(frozen_stages=1, norm_eval=False))):
        net, ctor = build(keys, **resnet)
        net.eval()
        ctor(net)
        # the check runs model.train() and restores every module's mode
        assert not any(m.training for m in net.modules())
