"""Mixed precision before a GPU is rented: the AMP configs and the OWP head under autocast.

* ``configs/amp/``: one leaf config per headline row of FCOS-OWP Tables 1 and 2, identical to
  its paper config except the optimizer wrapper (``AmpOptimWrapper``, dynamic loss scale).
* ``OWPFCOSHead`` (conditional IoU objectness, Center Sampling, IoU Sampling; the joint recipe
  with the focal loss) forward + loss + backward under ``torch.autocast('cpu')`` in bfloat16
  and float16: the convolutions really run in low precision, the losses are finite and equal
  the float32 losses of the same weights and inputs to low-precision accuracy, and the
  gradients are finite and point the same way as the float32 ones.
* A whole toy model trained through MMEngine's ``AmpOptimWrapper`` on the CPU (the wrapper's
  CUDA check patched; on the CPU it autocasts to bfloat16): finite losses, updated weights,
  the frozen classifier untouched.
"""
import glob
import math
import os.path as osp
import re
import warnings
from unittest import mock

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config, ConfigDict
from mmengine.dataset import pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import InstanceData

import mmowp  # noqa: F401  (registration)
from mmowp.models.dense_heads import OWPFCOSHead

from .conftest import CONFIG_ROOT

AMP_CONFIGS = sorted(glob.glob(osp.join(CONFIG_ROOT, 'amp', '*.py')))

#: The headline rows: FCOS-OWP Table 1 (COCO) and Table 2 (LVIS), one config each.
HEADLINE_ROWS = {
    'baseline/fcos_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp/owp-fcos-centerness_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp/owp-fcos-iou_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp/owp-fcos-sqrt-centerness-iou_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp/owp-fcos-cond-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp_aware/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp_aware/owp-aware-fcos-iou-cs-is-finetune_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'owp_aware/owp-aware-fcos-iou-cs-is-joint-unknown-thr095-5k_r50-caffe_fpn_90k_coco-voc2nonvoc.py',
    'lvis/fcos_r50-caffe_fpn_90k_lvis-base2novel.py',
    'lvis/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_lvis-base2novel.py',
    'lvis/owp-aware-fcos-iou-cs-is-joint_r50-caffe_fpn_90k_lvis-base2novel.py',
    'lvis/owp-aware-fcos-iou-cs-is-joint-unknown-thr095-5k_r50-caffe_fpn_90k_lvis-base2novel.py',
}


def _base_of(path):
    m = re.search(r"^_base_ = '([^']+)'", open(path).read(), re.M)
    assert m, f'{path}: no single _base_ path'
    return osp.normpath(osp.join(osp.dirname(path), m.group(1)))


def test_amp_configs_cover_the_headline_rows():
    bases = {osp.relpath(_base_of(p), CONFIG_ROOT) for p in AMP_CONFIGS}
    assert bases == HEADLINE_ROWS


@pytest.mark.parametrize('path', AMP_CONFIGS, ids=[osp.basename(p) for p in AMP_CONFIGS])
def test_amp_config_only_swaps_the_optim_wrapper(path):
    cfg, base = Config.fromfile(path), Config.fromfile(_base_of(path))
    assert base.optim_wrapper.type == 'OptimWrapper'
    assert cfg.optim_wrapper.type == 'AmpOptimWrapper'
    assert cfg.optim_wrapper.loss_scale == 'dynamic'
    # everything else of the optimizer wrapper (SGD, paramwise_cfg, clip_grad, constructor)
    # is the paper's
    ours = cfg.optim_wrapper.to_dict()
    theirs = base.optim_wrapper.to_dict()
    for d in (ours, theirs):
        d.pop('type')
        d.pop('loss_scale', None)
    assert ours == theirs
    a, b = cfg.to_dict(), base.to_dict()
    for d in (a, b):
        d.pop('optim_wrapper')
    if 'finetune' in osp.basename(path):  # starts from the AMP IOU-CS-IS run instead
        assert a.pop('load_from') == \
            'work_dirs/owp-fcos-iou-cs-is_r50-caffe_fpn_amp-90k_coco-voc2nonvoc/iter_90000.pth'
        b.pop('load_from')
        assert osp.isfile(osp.join(CONFIG_ROOT, 'amp',
                                   'owp-fcos-iou-cs-is_r50-caffe_fpn_amp-90k_coco-voc2nonvoc.py'))
    assert a == b


# --------------------------------------------------------------------------- head
C, STRIDES, IMG_H, IMG_W = 32, (8, 16, 32), 64, 96

HEADS = {
    'iou-cs-is': dict(objectness=('iou', ), score_mode='iou', center_sampling=True,
                      center_sample_radius=1.5, iou_sampling_thr=0.3, train_cls=False,
                      centerness_on_reg=True),
    'cond-iou-cs-is': dict(objectness=('iou', ), score_mode='iou', center_sampling=True,
                           center_sample_radius=1.5, iou_sampling_thr=0.3, train_cls=False,
                           centerness_on_reg=True, conditional=True),
    'joint': dict(objectness=('iou', ), score_mode='cls*iou', center_sampling=True,
                  center_sample_radius=1.5, iou_sampling_thr=0.3, train_cls=True,
                  centerness_on_reg=True),
}


def make_head(kwargs):
    torch.manual_seed(0)
    head = OWPFCOSHead(
        num_classes=3, in_channels=C, feat_channels=C, stacked_convs=2, strides=STRIDES,
        regress_ranges=((-1, 24), (24, 48), (48, 1e8)),
        norm_cfg=dict(type='GN', num_groups=8, requires_grad=True),
        test_cfg=ConfigDict(nms_pre=200, min_bbox_size=0, score_thr=0.0,
                            nms=dict(type='nms', iou_threshold=0.5), max_per_img=15),
        **kwargs)
    with torch.no_grad():  # scores and boxes of a few strides, not all background
        head.conv_reg.bias.add_(1.5)
    return head


def inputs():
    g = torch.Generator().manual_seed(1)
    feats = [torch.randn(2, C, math.ceil(IMG_H / s), math.ceil(IMG_W / s), generator=g)
             for s in STRIDES]
    gts = [InstanceData(bboxes=torch.tensor([[4., 6., 40., 50.], [30., 10., 90., 60.],
                                             [50., 40., 70., 60.]]),
                        labels=torch.tensor([0, 2, 1])),
           InstanceData(bboxes=torch.tensor([[10., 12., 30., 28.]]), labels=torch.tensor([1]))]
    metas = [dict(img_shape=(IMG_H, IMG_W), pad_shape=(IMG_H, IMG_W), scale_factor=(1., 1.))
             for _ in range(2)]
    return feats, gts, metas


def run_head(kwargs, dtype=None):
    head = make_head(kwargs)
    feats, gts, metas = inputs()
    if dtype is None:
        outs = head(feats)
        losses = head.loss_by_feat(*outs, gts, metas)
    else:
        with torch.autocast('cpu', dtype=dtype):
            outs = head(feats)
            losses = head.loss_by_feat(*outs, gts, metas)
    sum(losses.values()).backward()
    grads = {n: p.grad.detach().clone() for n, p in head.named_parameters()
             if p.grad is not None}
    return outs, {k: v.detach().float() for k, v in losses.items()}, grads


@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16], ids=['bf16', 'fp16'])
@pytest.mark.parametrize('variant', list(HEADS))
def test_owp_head_forward_backward_under_autocast(variant, dtype):
    _, ref_losses, ref_grads = run_head(HEADS[variant])
    outs, losses, grads = run_head(HEADS[variant], dtype)
    # autocast is really on: the convolutions' outputs are low precision
    assert outs[0][0].dtype == dtype and outs[2][0].dtype == dtype
    assert set(losses) == set(ref_losses)
    if variant == 'joint':
        assert 'loss_cls' in losses
    for k, v in losses.items():
        assert torch.isfinite(v), k
        # low-precision convolutions, float32 losses: equal to a few parts in a thousand
        torch.testing.assert_close(v, ref_losses[k], rtol=2e-2, atol=1e-3, msg=k)
    assert set(grads) == set(ref_grads)
    assert 'conv_iou.weight' in grads and 'reg_convs.0.conv.weight' in grads
    if not HEADS[variant]['train_cls']:  # the frozen classifier stays without gradient
        assert not any(n.startswith(('conv_cls', 'cls_convs')) for n in grads)
    for n, g in grads.items():
        assert g.dtype == torch.float32, n  # the weights (and their gradients) stay float32
        assert torch.isfinite(g).all(), n
        ref = ref_grads[n]
        if ref.norm() > 1e-6:
            cos = torch.nn.functional.cosine_similarity(g.flatten(), ref.flatten(), dim=0)
            assert cos > 0.98, (n, float(cos))


# --------------------------------------------------------------------------- whole model
def test_amp_optim_wrapper_trains_the_toy_model_on_cpu(tiny_owd):
    """MMEngine's AmpOptimWrapper drives a real train_step of the toy IoU-CS-IS model. Its
    constructor refuses a machine without CUDA; patched, on the CPU it autocasts to bf16 and
    its GradScaler disables itself, so this runs exactly the AMP code path minus the scaler."""
    from mmdet.registry import DATASETS
    cfg = Config.fromfile(
        osp.join(CONFIG_ROOT, 'toy', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py'))
    init_default_scope('mmdet')
    model = MODELS.build(cfg.model)
    model.train()
    ds_cfg = cfg.train_dataloader.dataset
    ds_cfg.data_root = tiny_owd + '/'
    dataset = DATASETS.build(ds_cfg)
    wrapper_cfg = cfg.optim_wrapper.to_dict()
    wrapper_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    with mock.patch('mmengine.optim.optimizer.amp_optimizer_wrapper.is_cuda_available',
                    return_value=True), warnings.catch_warnings():
        warnings.simplefilter('ignore')  # torch: "GradScaler ... CUDA is not available"
        optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
    assert type(optim_wrapper).__name__ == 'AmpOptimWrapper'

    seen = []
    hook = model.bbox_head.conv_iou.register_forward_hook(
        lambda m, i, o: seen.append(o.dtype))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    logs = []
    for step in range(2):
        batch = pseudo_collate([dataset[i] for i in (2 * step, 2 * step + 1)])
        logs.append(model.train_step(batch, optim_wrapper))
    hook.remove()
    assert seen and all(d == torch.bfloat16 for d in seen)
    for log in logs:
        assert {'loss', 'loss_bbox', 'loss_iou'} <= set(log)
        assert 'loss_cls' not in log  # OWP recipe: frozen classifier
        for k, v in log.items():
            assert math.isfinite(float(v)), k
    for n, p in model.named_parameters():
        assert torch.isfinite(p).all(), n
        if n.startswith(('bbox_head.conv_cls', 'bbox_head.cls_convs')):
            assert torch.equal(p, before[n]), n
    for n in ('bbox_head.conv_iou.weight', 'bbox_head.conv_reg.weight',
              'backbone.conv1.weight'):
        assert not torch.equal(dict(model.named_parameters())[n], before[n]), n
