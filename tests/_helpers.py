"""Inputs shared by the head tests: head configs, FPN features, GT instances, image metas;
and :func:`load_tool`, a script of ``tools/`` as a module.

Plain functions rather than pytest fixtures: the tests call them with arguments (another
image size, channel count or seed) and more than once per test. The defaults are one small
FCOS head (3 classes, 32 channels, strides 8/16/32) on 64x96 images; a test module with
another geometry passes its own values.
"""
import importlib.util
import math
import os.path as osp
import sys
from types import ModuleType
from typing import List, Optional, Sequence, Tuple, Union

import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

IMG_H, IMG_W = 64, 96
STRIDES = (8, 16, 32)
C = 32
REGRESS_RANGES = ((-1, 24), (24, 48), (48, 1e8))
TEST_CFG = dict(nms_pre=200, min_bbox_size=0, score_thr=0.0,
                nms=dict(type='nms', iou_threshold=0.5), max_per_img=15)


def head_cfg(num_classes: int = 3,
             channels: int = C,
             stacked_convs: int = 2,
             strides: Sequence[int] = STRIDES,
             regress_ranges: Optional[tuple] = REGRESS_RANGES,
             num_groups: Optional[int] = 8,
             test_cfg: Optional[dict] = TEST_CFG,
             **kwargs) -> dict:
    """Keyword arguments of a small FCOS-family head.

    Args:
        num_classes (int): Number of classes. Defaults to 3.
        channels (int): ``in_channels`` and ``feat_channels``. Defaults to 32.
        stacked_convs (int): Convs of each tower. Defaults to 2.
        strides (Sequence[int]): FPN strides. Defaults to (8, 16, 32).
        regress_ranges (tuple, optional): FCOS regress ranges; None keeps the head's default.
        num_groups (int, optional): GroupNorm groups; None: no norm layer.
        test_cfg (dict, optional): ``test_cfg`` (copied into a ConfigDict); None: no test_cfg.
        **kwargs: Any other head argument; it overrides the ones above.

    Returns:
        dict: The head's keyword arguments.
    """
    cfg = dict(num_classes=num_classes, in_channels=channels, feat_channels=channels,
               stacked_convs=stacked_convs, strides=strides,
               norm_cfg=None if num_groups is None else dict(
                   type='GN', num_groups=num_groups, requires_grad=True))
    if regress_ranges is not None:
        cfg['regress_ranges'] = regress_ranges
    if test_cfg is not None:
        cfg['test_cfg'] = ConfigDict(test_cfg)
    cfg.update(kwargs)
    return cfg


def randomize(head: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Weights that give non-trivial scores and boxes of a few strides (in place)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in head.named_parameters():
            if name.endswith('weight') and p.dim() == 4:
                p.copy_(torch.randn(p.shape, generator=g) * 0.05)
            elif name.endswith('bias'):
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
        head.conv_reg.bias.add_(1.5)
    return head


def feats(batch: int = 2,
          seed: Union[int, torch.Generator] = 1,
          requires_grad: bool = False,
          channels: int = C,
          img_shape: Tuple[int, int] = (IMG_H, IMG_W),
          strides: Sequence[int] = STRIDES) -> List[torch.Tensor]:
    """Standard-normal FPN features, one (batch, channels, ceil(H / s), ceil(W / s)) per level.

    Args:
        batch (int): Number of images. Defaults to 2.
        seed (int | torch.Generator): Seed, or a generator to draw from (then the caller's
            later draws continue its sequence). Defaults to 1.
        requires_grad (bool): Whether the features require grad. Defaults to False.
        channels (int): Channels. Defaults to 32.
        img_shape (tuple[int, int]): Image (H, W). Defaults to (64, 96).
        strides (Sequence[int]): One level per stride. Defaults to (8, 16, 32).

    Returns:
        list[Tensor]: The features of each level.
    """
    g = seed if isinstance(seed, torch.Generator) else torch.Generator().manual_seed(seed)
    h, w = img_shape
    out = [torch.randn(batch, channels, math.ceil(h / s), math.ceil(w / s), generator=g)
           for s in strides]
    return [f.requires_grad_(requires_grad) for f in out]


def instances(boxes: object, labels: object) -> InstanceData:
    """GT instances from (G, 4) ``(x1, y1, x2, y2)`` boxes and (G,) labels (lists or tensors)."""
    boxes = torch.as_tensor(boxes, dtype=torch.float32).reshape(-1, 4)
    return InstanceData(bboxes=boxes, labels=torch.as_tensor(labels, dtype=torch.long))


def gts() -> List[InstanceData]:
    """GT of the default two 64x96 images: three boxes of three classes, and one box."""
    return [instances([[4., 6., 40., 50.], [30., 10., 90., 60.], [50., 40., 70., 60.]],
                      [0, 2, 1]),
            instances([[10., 12., 30., 28.]], [1])]


def empty_gt() -> InstanceData:
    """GT instances of an image without objects."""
    return instances(torch.zeros((0, 4)), torch.zeros((0, )))


def metas(batch: int = 2, img_shape: Tuple[int, int] = (IMG_H, IMG_W)) -> List[dict]:
    """Image metas of unscaled, unpadded images of shape ``img_shape`` (H, W)."""
    return [dict(img_shape=img_shape, pad_shape=img_shape, scale_factor=(1., 1.))
            for _ in range(batch)]


def load_tool(name: str, module_name: str) -> ModuleType:
    """``tools/<name>`` (e.g. ``'propose.py'``, ``'analysis/benchmark_train.py'``) as a module,
    imported as when it runs as a script: with its folder on ``sys.path`` (the tools import
    ``_path.py`` from there), removed again afterwards."""
    path = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tools', name)
    folder = osp.dirname(path)
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, folder)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(folder)
    return module


def flat_config(d: dict, prefix: str = '') -> dict:
    """A nested config dict as ``{'model.bbox_head.type': ..}``: dotted key -> leaf value."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flat_config(v, f'{prefix}{k}.'))
        else:
            out[f'{prefix}{k}'] = v
    return out
