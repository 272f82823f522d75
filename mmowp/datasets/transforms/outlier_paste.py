"""Cut-and-paste outlier supervision of RbA (Nayal et al., ICCV 2023), §3.4, §4.2 and suppl. A.3.

RbA fine-tunes with "a modified version of Anomaly Mix": objects of classes absent from
the inlier dataset are cut from a pool of outlier images and pasted on inlier training images.
"We sample 300 images only at the beginning and fix them, then at each iteration, an image is
randomly chosen and pasted on inlier images with probability p_out" (``p_out = 0.1``, "an
object from the 300 COCO samples is uniformly chosen", "independent for each image").

:class:`OutlierPaste` does this for mmdet pipelines. The pasted region is recorded as an
*outlier box* in ``results['outlier_bboxes']`` ((n, 4) float32 x1y1x2y2, n = 0 or 1), never in
``gt_bboxes``: for the detection losses the pasted object is background, and the RbA loss
(``OWPFCOSHead(loss_rba=...)``) reads the boxes from the image metas. Carry them with the stock
packer: ``dict(type='PackDetInputs', meta_keys=(<mmdet's defaults>, 'outlier_bboxes'))``
(:data:`PACK_META_KEYS`); the key is always set (empty when nothing was pasted), so the head
can tell "no outlier in this image" from "the pipeline does not provide outliers".
"""
import logging
import os.path as osp
from typing import Dict, List, Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmdet.structures.bbox import get_box_tensor
from mmengine.fileio import get
from mmengine.logging import print_log
from pycocotools.coco import COCO

from ..splits import ClassSpec, complement_classes, resolve_classes

#: ``PackDetInputs`` meta keys that carry the outlier boxes (mmdet's defaults + ours).
PACK_META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
                  'flip_direction', 'outlier_bboxes')


@TRANSFORMS.register_module()
class OutlierPaste(BaseTransform):
    """Paste an object cut from a fixed pool of outlier images, with probability ``p_out``.

    Pool (built once, at construction). The candidate objects are the annotations of
    ``ann_file`` whose category is in ``pool_classes``, not crowd, at least ``min_size``
    pixels wide and high, and (with ``use_mask``) with a segmentation. ``pool_size`` images
    holding such objects are drawn with ``seed`` and fixed (all of them if there are fewer).
    Each paste picks one pool image uniformly, then one of its candidate objects uniformly,
    and copies the object's pixels (its mask inside its box; the whole box without
    ``use_mask``). Cut patches are cached, so each pool image is read once.

    Placement. The patch keeps its size unless it is larger than ``max_size_ratio`` of the
    image side (then it is shrunk to fit); the image size never changes. Up to ``max_tries``
    uniform positions are tried; a position is accepted when it covers at most
    ``max_occlusion`` of the area of every original GT box (``gt_bboxes``), so that the
    original annotations -- which this transform never modifies -- stay truthful. If no
    position is accepted, nothing is pasted (the image is returned unchanged, with no
    outlier box). Unannotated objects of the image may be covered.

    Outputs. ``results['outlier_bboxes']``: (n, 4) float32, the tight box of the pasted
    pixels (x1, y1, x2, y2, pixel-edge coordinates), appended to any existing outlier boxes;
    ``results['outlier_cat_ids']``: (n,) int64, their ``ann_file`` category ids. The image
    array is copied before pasting. Put the transform *after* the geometric transforms
    (``Resize``, ``RandomFlip``, crops), right before ``PackDetInputs``: later geometric
    transforms would not move the outlier boxes.

    Randomness. With ``seed`` set, the per-image draws come from the transform's own
    generator seeded by ``(seed, dataloader worker id)``: the same sequence of images gives
    the same pastes. With ``seed=None`` the pool is drawn with seed 0 and the per-image draws
    use ``np.random`` (seeded per worker by MMEngine's ``randomness.seed``).

    Args:
        ann_file (str): COCO-format json of the outlier images (with masks for
            ``use_mask``). Generated dataset: ``annotations/instances_train_all.json``
            (novel objects are annotated there); COCO: ``instances_train2017.json``.
        data_root (str, optional): Prefix of ``ann_file`` (if relative) and of the images.
        img_prefix (str): Folder of the images, relative to ``data_root``. Defaults to ''.
        pool_classes (str | Sequence[str], optional): Classes to cut (split name or names).
            None: the categories of ``ann_file`` not in ``exclude_classes``; if that is not
            given either, the categories with ``split == 'novel'``.
        exclude_classes (str | Sequence[str], optional): Inlier (base) classes; they must
            not overlap ``pool_classes``.
        clean_images (bool): Only use pool images without any annotation of
            ``exclude_classes`` (RbA's rule for COCO). Defaults to False.
        pool_size (int): Number of pool images (300 in RbA). Defaults to 300.
        p_out (float): Paste probability per image. Defaults to 0.1.
        seed (int, optional): Seed of the pool and of the per-image draws. Defaults to 0.
        min_size (int): Minimum width and height of a candidate object. Defaults to 4.
        max_size_ratio (float): Largest patch side as a fraction of the image side.
            Defaults to 0.5.
        max_occlusion (float): Largest covered fraction of an original GT box. Defaults to
            0.3.
        max_tries (int): Placement attempts. Defaults to 10.
        use_mask (bool): Paste the mask pixels only. Defaults to True.
        backend_args (dict, optional): File backend arguments, as ``LoadImageFromFile``.
    """

    def __init__(self,
                 ann_file: str,
                 data_root: Optional[str] = None,
                 img_prefix: str = '',
                 pool_classes: Optional[ClassSpec] = None,
                 exclude_classes: Optional[ClassSpec] = None,
                 clean_images: bool = False,
                 pool_size: int = 300,
                 p_out: float = 0.1,
                 seed: Optional[int] = 0,
                 min_size: int = 4,
                 max_size_ratio: float = 0.5,
                 max_occlusion: float = 0.3,
                 max_tries: int = 10,
                 use_mask: bool = True,
                 backend_args: Optional[dict] = None) -> None:
        if not 0.0 <= p_out <= 1.0:
            raise ValueError(f'OutlierPaste: p_out must be in [0, 1], got {p_out}')
        if pool_size < 1:
            raise ValueError(f'OutlierPaste: pool_size must be >= 1, got {pool_size}')
        if not 0.0 < max_size_ratio <= 1.0:
            raise ValueError(f'OutlierPaste: max_size_ratio must be in (0, 1], '
                             f'got {max_size_ratio}')
        if not 0.0 <= max_occlusion <= 1.0:
            raise ValueError(f'OutlierPaste: max_occlusion must be in [0, 1], '
                             f'got {max_occlusion}')
        self.data_root = data_root or ''
        self.ann_file = ann_file if osp.isabs(ann_file) or not data_root \
            else osp.join(data_root, ann_file)
        self.img_prefix = img_prefix
        self.clean_images = clean_images
        self.pool_size = int(pool_size)
        self.p_out = float(p_out)
        self.seed = seed
        self.min_size = min_size
        self.max_size_ratio = float(max_size_ratio)
        self.max_occlusion = float(max_occlusion)
        self.max_tries = int(max_tries)
        self.use_mask = use_mask
        self.backend_args = backend_args
        self._rng: Optional[np.random.Generator] = None
        self._cache: Dict[int, Tuple[np.ndarray, np.ndarray]] = {}
        self._coco = COCO(self.ann_file) if osp.exists(self.ann_file) else None
        if self._coco is None:
            raise FileNotFoundError(f'OutlierPaste: ann_file {self.ann_file} does not exist')
        self.pool_names = self._resolve_pool_classes(pool_classes, exclude_classes)
        self.pool = self._build_pool()

    # ---------------------------------------------------------------- pool
    def _resolve_pool_classes(self, pool_classes: Optional[ClassSpec],
                              exclude_classes: Optional[ClassSpec]) -> Tuple[str, ...]:
        cats = self._coco.dataset.get('categories', [])
        exclude = () if exclude_classes is None else resolve_classes(
            exclude_classes, cats, source=self.ann_file)
        if pool_classes is not None:
            names = resolve_classes(pool_classes, cats, source=self.ann_file)
        elif exclude_classes is not None:
            names = complement_classes(exclude, cats)
        else:
            names = tuple(c['name'] for c in cats if c.get('split') == 'novel')
            if not names:
                raise ValueError(f'OutlierPaste: give pool_classes or exclude_classes; the '
                                 f"categories of {self.ann_file} have no split='novel'")
        both = sorted(set(names) & set(exclude))
        if both:
            raise ValueError(f'OutlierPaste: pool_classes and exclude_classes (inliers) share '
                             f'{both}; outliers must be of classes disjoint from the inliers')
        self.exclude_names = exclude
        return tuple(names)

    def _build_pool(self) -> List[Tuple[int, List[int]]]:
        """Fixed pool: ``pool_size`` (image id, candidate annotation ids) pairs."""
        coco = self._coco
        pool_cats = set(coco.getCatIds(catNms=list(self.pool_names)))
        excl_cats = set(coco.getCatIds(catNms=list(self.exclude_names))) if \
            self.exclude_names else set()
        candidates = []
        for img_id in sorted(coco.getImgIds()):
            anns = coco.loadAnns(coco.getAnnIds(imgIds=[img_id]))
            if self.clean_images and any(a['category_id'] in excl_cats for a in anns):
                continue
            ok = [a['id'] for a in anns
                  if a['category_id'] in pool_cats and not a.get('iscrowd', 0)
                  and a['bbox'][2] >= self.min_size and a['bbox'][3] >= self.min_size
                  and (not self.use_mask or a.get('segmentation'))]
            if ok:
                candidates.append((img_id, ok))
        if not candidates:
            raise ValueError(f'OutlierPaste: no object of {list(self.pool_names)} in '
                             f'{self.ann_file} is usable (min_size={self.min_size}, '
                             f'use_mask={self.use_mask}, clean_images={self.clean_images})')
        rng = np.random.default_rng(0 if self.seed is None else self.seed)
        if len(candidates) > self.pool_size:
            keep = np.sort(rng.choice(len(candidates), self.pool_size, replace=False))
            candidates = [candidates[i] for i in keep]
        print_log(f'OutlierPaste: pool of {len(candidates)} images '
                  f'({sum(len(c[1]) for c in candidates)} objects of {len(self.pool_names)} '
                  f'classes) from {self.ann_file}', logger='current', level=logging.INFO)
        return candidates

    def _patch(self, ann_id: int) -> Tuple[np.ndarray, np.ndarray]:
        """Cut (and cache) the pixels (h, w, 3) and mask (h, w) bool of an annotation."""
        if ann_id in self._cache:
            return self._cache[ann_id]
        ann = self._coco.loadAnns([ann_id])[0]
        info = self._coco.loadImgs([ann['image_id']])[0]
        path = osp.join(self.data_root, self.img_prefix, info['file_name'])
        img = mmcv.imfrombytes(get(path, backend_args=self.backend_args), flag='color')
        if img is None:
            raise FileNotFoundError(f'OutlierPaste: cannot read pool image {path}')
        x, y, w, h = ann['bbox']
        x1, y1 = max(int(np.floor(x)), 0), max(int(np.floor(y)), 0)
        x2, y2 = min(int(np.ceil(x + w)), img.shape[1]), min(int(np.ceil(y + h)), img.shape[0])
        if self.use_mask:
            mask = self._coco.annToMask(ann)[y1:y2, x1:x2].astype(bool)
        else:
            mask = np.ones((y2 - y1, x2 - x1), bool)
        patch = (img[y1:y2, x1:x2].copy(), mask)
        self._cache[ann_id] = patch
        return patch

    # ---------------------------------------------------------------- randomness
    def _random(self) -> np.random.Generator:
        if self.seed is None:
            return np.random.default_rng(np.random.randint(2**31))
        if self._rng is None:
            import torch.utils.data as tud
            info = tud.get_worker_info()
            self._rng = np.random.default_rng([self.seed, 0 if info is None else info.id])
        return self._rng

    # ---------------------------------------------------------------- transform
    def _fit(self, img: np.ndarray, mask: np.ndarray,
             shape: Tuple[int, int]) -> Tuple[np.ndarray, np.ndarray]:
        h, w = mask.shape
        scale = min(1.0, self.max_size_ratio * shape[0] / h, self.max_size_ratio * shape[1] / w)
        if scale < 1.0:
            size = (max(int(w * scale), 1), max(int(h * scale), 1))
            img = mmcv.imresize(img, size, interpolation='bilinear')
            mask = mmcv.imresize(mask.astype(np.uint8), size, interpolation='nearest') > 0
        return img, mask

    def _place(self, rng: np.random.Generator, shape: Tuple[int, int], ph: int, pw: int,
               gt_boxes: np.ndarray) -> Optional[Tuple[int, int]]:
        if ph > shape[0] or pw > shape[1]:
            return None
        areas = np.maximum(gt_boxes[:, 2] - gt_boxes[:, 0], 0) * \
            np.maximum(gt_boxes[:, 3] - gt_boxes[:, 1], 0)
        for _ in range(self.max_tries):
            x0 = int(rng.integers(0, shape[1] - pw + 1))
            y0 = int(rng.integers(0, shape[0] - ph + 1))
            if len(gt_boxes):
                iw = np.clip(np.minimum(gt_boxes[:, 2], x0 + pw) - np.maximum(gt_boxes[:, 0], x0),
                             0, None)
                ih = np.clip(np.minimum(gt_boxes[:, 3], y0 + ph) - np.maximum(gt_boxes[:, 1], y0),
                             0, None)
                covered = iw * ih / np.maximum(areas, 1e-6)
                if (covered > self.max_occlusion).any():
                    continue
            return x0, y0
        return None

    def transform(self, results: dict) -> dict:
        """Maybe paste one outlier object; always set ``outlier_bboxes``/``outlier_cat_ids``.

        Args:
            results (dict): Pipeline results with ``img`` (H, W, 3) and optionally
                ``gt_bboxes``.

        Returns:
            dict: The results, with the image possibly pasted on and the outlier fields.
        """
        boxes = np.asarray(results.get('outlier_bboxes', np.zeros((0, 4))),
                           np.float32).reshape(-1, 4)
        cat_ids = np.asarray(results.get('outlier_cat_ids', np.zeros(0)), np.int64).reshape(-1)
        results['outlier_bboxes'], results['outlier_cat_ids'] = boxes, cat_ids
        rng = self._random()
        if rng.random() >= self.p_out:
            return results
        img_id, ann_ids = self.pool[int(rng.integers(len(self.pool)))]
        ann_id = ann_ids[int(rng.integers(len(ann_ids)))]
        img = results['img']
        if img.ndim != 3 or img.shape[2] != 3:
            raise ValueError(f'OutlierPaste expects a (H, W, 3) image, got {img.shape} '
                             f'({results.get("img_path")})')
        patch, mask = self._fit(*self._patch(ann_id), img.shape[:2])
        pos = self._place(rng, img.shape[:2], mask.shape[0], mask.shape[1],
                          _as_array(results.get('gt_bboxes')))
        if pos is None or not mask.any():
            return results
        x0, y0 = pos
        img = img.copy()
        region = img[y0:y0 + mask.shape[0], x0:x0 + mask.shape[1]]
        region[mask] = patch[mask].astype(img.dtype)
        results['img'] = img
        ys, xs = np.nonzero(mask)
        box = np.array([[x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1]],
                       np.float32)
        cat = self._coco.loadAnns([ann_id])[0]['category_id']
        results['outlier_bboxes'] = np.concatenate([boxes, box])
        results['outlier_cat_ids'] = np.concatenate([cat_ids, np.array([cat], np.int64)])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ann_file={self.ann_file!r}, '
                f'pool_classes={list(self.pool_names)}, pool_size={len(self.pool)}, '
                f'p_out={self.p_out}, seed={self.seed}, max_occlusion={self.max_occlusion})')



def _as_array(boxes) -> np.ndarray:  # noqa: ANN001
    """(n, 4) float32 array of ``gt_bboxes`` (mmdet box type, tensor, array or None)."""
    if boxes is None:
        return np.zeros((0, 4), np.float32)
    if isinstance(boxes, np.ndarray):
        return boxes.astype(np.float32).reshape(-1, 4)
    return get_box_tensor(boxes).detach().cpu().numpy().astype(np.float32).reshape(-1, 4)
