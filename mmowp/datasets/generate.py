"""Generate the embedded open-world dataset ("OWD-shapes").

A small, seeded, COCO-format dataset that reproduces the open-world setting of FCOS-OWP
(§5 "Datasets") without COCO: textured shapes on textured backgrounds, split into **base**
classes (annotated for training) and **novel** classes (present in the training images but
*not annotated*, evaluated at test time).

Files written under ``out_dir``::

    meta.json                              parameters + class split (used to refuse overwrites)
    train/000000.png ...                   training images (base *and* novel objects drawn)
    val/000000.png ...                     validation images
    annotations/instances_train.json       base objects only: the open-world training set
    annotations/instances_train_all.json   every object (novel ones too), e.g. an outlier pool
    annotations/instances_val.json         every object with its true category
    annotations/lvis_v1_train.json         LVIS-format copies (``frequency``, ``neg_category_ids``,
    annotations/lvis_v1_val.json           ``not_exhaustive_category_ids``) for the LVIS code path

Boxes, areas and RLE masks describe the *visible* part of every object (objects may overlap,
the later one drawn on top), exactly as COCO annotates. The same seed and parameters always
give the same files.

CLI::

    python -m mmowp.datasets.generate data/owd_shapes --num-train 5000 --num-val 300
"""
import argparse
import json
import os
import os.path as osp
import shutil
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
import pycocotools.mask as mask_utils

GENERATOR_VERSION = 2

BASE_CLASSES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'star', 'cross')
NOVEL_CLASSES: Tuple[str, ...] = ('hexagon', 'diamond', 'ellipse', 'arrow', 'lshape')
ALL_CLASSES: Tuple[str, ...] = BASE_CLASSES + NOVEL_CLASSES
TEXTURES: Tuple[str, ...] = ('solid', 'stripes', 'checker', 'dots', 'gradient')
# LVIS frequency groups for the LVIS-format copy: base = rare + common + some frequent,
# novel = frequent, mirroring the seed's LVIS split (all r + c + first f are base).
LVIS_FREQUENCY: Dict[str, str] = {
    'circle': 'r', 'square': 'c', 'triangle': 'c', 'star': 'f', 'cross': 'f',
    'hexagon': 'f', 'diamond': 'f', 'ellipse': 'f', 'arrow': 'f', 'lshape': 'f'
}
#: Per-shape geometry: (aspect-ratio intervals (width / height, one is drawn at random, then a
#: log-uniform value in it), largest |rotation| in radians). The ranges keep every class a
#: distinct drawing, so that no image of one class is also an image of another: a circle is
#: round (aspect within 10 %) and an ellipse is at least twice as long as it is wide; a
#: square keeps right angles and sides within 25 % of each other and turns at most 15
#: degrees, while a diamond is a lozenge (diagonals at least 1.7:1, so its angles are at most
#: 61 / at least 119 degrees, never a turned square). The other shapes are distinct at any
#: aspect ratio; they are stretched by up to 1.5 and turned by up to 20 degrees.
SHAPE_GEOMETRY: Dict[str, Tuple[Tuple[Tuple[float, float], ...], float]] = {
    'circle': (((0.9, 1.11), ), 0.0),
    'ellipse': (((0.33, 0.5), (2.0, 3.0)), 0.0),
    'square': (((0.8, 1.25), ), np.deg2rad(15)),
    'diamond': (((0.4, 0.59), (1.7, 2.5)), np.deg2rad(10)),
    'triangle': (((0.67, 1.5), ), np.deg2rad(20)),
    'star': (((0.67, 1.5), ), np.deg2rad(20)),
    'cross': (((0.67, 1.5), ), np.deg2rad(20)),
    'hexagon': (((0.67, 1.5), ), np.deg2rad(20)),
    'arrow': (((0.67, 1.5), ), np.deg2rad(20)),
    'lshape': (((0.67, 1.5), ), np.deg2rad(20)),
}


@dataclass
class GeneratorConfig:
    """Parameters of the generated dataset.

    Args:
        num_train (int): Number of training images. 5000: with 600 the toy detector
            memorised them (training loss_cls 0.08, base AP 11 on val; README toy section).
        num_val (int): Number of validation images.
        image_size (int): Side of the square images in pixels.
        min_objects (int): Minimum number of objects per image.
        max_objects (int): Maximum number of objects per image.
        min_size (int): Minimum object side in pixels (before aspect ratio).
        max_size (int): Maximum object side in pixels (before aspect ratio).
        novel_ratio (float): Probability that an object is of a novel class.
        min_visible (float): Every object keeps at least this fraction of its pixels
            visible after later objects are drawn over it.
        seed (int): Random seed; the same seed gives byte-identical annotations.
        base_classes (list[str]): Class names annotated for training.
        novel_classes (list[str]): Class names present but not annotated for training.
    """
    num_train: int = 5000
    num_val: int = 300
    image_size: int = 128
    min_objects: int = 2
    max_objects: int = 6
    min_size: int = 12
    max_size: int = 56
    novel_ratio: float = 0.45
    min_visible: float = 0.6
    seed: int = 0
    base_classes: List[str] = field(default_factory=lambda: list(BASE_CLASSES))
    novel_classes: List[str] = field(default_factory=lambda: list(NOVEL_CLASSES))

    def validate(self) -> None:
        unknown = [c for c in self.base_classes + self.novel_classes if c not in ALL_CLASSES]
        if unknown:
            raise ValueError(f'unknown shape class(es) {unknown}; known: {list(ALL_CLASSES)}')
        overlap = set(self.base_classes) & set(self.novel_classes)
        if overlap:
            raise ValueError(f'classes {sorted(overlap)} are both base and novel')
        if not self.base_classes:
            raise ValueError('base_classes is empty')
        if not 1 <= self.min_objects <= self.max_objects:
            raise ValueError('need 1 <= min_objects <= max_objects')
        if not 4 <= self.min_size <= self.max_size <= self.image_size:
            raise ValueError('need 4 <= min_size <= max_size <= image_size')
        if self.num_train < 1 or self.num_val < 1:
            raise ValueError('num_train and num_val must be >= 1')


def _unit_polygon(shape: str) -> np.ndarray:
    """Polygon of a shape in the unit box [-1, 1]^2, shape (N, 2)."""
    if shape in ('circle', 'ellipse'):
        t = np.linspace(0, 2 * np.pi, 40, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == 'square':
        return np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float)
    if shape == 'triangle':
        return np.array([[0, -1], [1, 1], [-1, 1]], float)
    if shape == 'star':
        t = np.linspace(-np.pi / 2, 1.5 * np.pi, 10, endpoint=False)
        r = np.where(np.arange(10) % 2 == 0, 1.0, 0.42)
        return np.stack([r * np.cos(t), r * np.sin(t)], 1)
    if shape == 'cross':
        a = 0.33
        return np.array([[-a, -1], [a, -1], [a, -a], [1, -a], [1, a], [a, a], [a, 1], [-a, 1],
                         [-a, a], [-1, a], [-1, -a], [-a, -a]], float)
    if shape == 'hexagon':
        t = np.linspace(0, 2 * np.pi, 6, endpoint=False)
        return np.stack([np.cos(t), np.sin(t)], 1)
    if shape == 'diamond':
        return np.array([[0, -1], [1, 0], [0, 1], [-1, 0]], float)
    if shape == 'arrow':
        return np.array([[-1, -0.35], [0.2, -0.35], [0.2, -1], [1, 0], [0.2, 1], [0.2, 0.35],
                         [-1, 0.35]], float)
    if shape == 'lshape':
        return np.array([[-1, -1], [-0.3, -1], [-0.3, 0.4], [1, 0.4], [1, 1], [-1, 1]], float)
    raise ValueError(f'unknown shape {shape!r}')


def _random_color(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(np.float32)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A (h, w, 3) float texture of two contrasting colours."""
    c1 = _random_color(rng)
    c2 = np.clip(255 - c1 + rng.normal(0, 30, 3), 0, 255).astype(np.float32)
    kind = TEXTURES[rng.integers(len(TEXTURES))]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    period = float(rng.integers(3, 9))
    if kind == 'solid':
        weight = np.zeros((h, w), np.float32)
    elif kind == 'stripes':
        angle = rng.uniform(0, np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        weight = ((proj // period) % 2).astype(np.float32)
    elif kind == 'checker':
        weight = (((xx // period) + (yy // period)) % 2).astype(np.float32)
    elif kind == 'dots':
        weight = (((xx % period) - period / 2) ** 2 + ((yy % period) - period / 2) ** 2
                  < (period / 3) ** 2).astype(np.float32)
    else:  # gradient
        angle = rng.uniform(0, 2 * np.pi)
        proj = xx * np.cos(angle) + yy * np.sin(angle)
        weight = (proj - proj.min()) / max(float(np.ptp(proj)), 1.0)
    return c1 * (1 - weight[..., None]) + c2 * weight[..., None]


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Low-contrast clutter: smooth colour noise, faint lines and fine grain."""
    coarse = rng.uniform(60, 200, (4, 4, 3)).astype(np.float32)
    img = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(2, 6))):
        p1 = tuple(int(v) for v in rng.integers(0, size, 2))
        p2 = tuple(int(v) for v in rng.integers(0, size, 2))
        color = tuple(float(v) for v in np.clip(img[p1[1], p1[0]] + rng.normal(0, 25, 3), 0, 255))
        cv2.line(img, p1, p2, color, int(rng.integers(1, 3)))
    img += rng.normal(0, 6, img.shape).astype(np.float32)
    return img


def _sample_geometry(rng: np.random.Generator, shape: str) -> Tuple[float, float]:
    """Aspect ratio (width / height) and rotation (radians) of one object of ``shape``."""
    intervals, max_angle = SHAPE_GEOMETRY[shape]
    lo, hi = intervals[rng.integers(len(intervals))] if len(intervals) > 1 else intervals[0]
    aspect = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    angle = float(rng.uniform(-max_angle, max_angle)) if max_angle > 0 else 0.0
    return aspect, angle


def _place_polygon(rng: np.random.Generator, shape: str, cfg: GeneratorConfig) -> np.ndarray:
    side = rng.uniform(cfg.min_size, cfg.max_size)
    aspect, angle = _sample_geometry(rng, shape)
    half_w, half_h = side * np.sqrt(aspect) / 2, side / np.sqrt(aspect) / 2
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    pts = (_unit_polygon(shape) * [half_w, half_h]) @ rot.T
    lo, hi = pts.min(0), pts.max(0)
    size = cfg.image_size
    if np.any(hi - lo >= size - 2):
        pts *= (size - 3) / (hi - lo).max()
        lo, hi = pts.min(0), pts.max(0)
    center = rng.uniform(-lo + 1, size - 1 - hi)
    return pts + center


def _render_image(rng: np.random.Generator,
                  cfg: GeneratorConfig) -> Tuple[np.ndarray, List[Tuple[str, np.ndarray]]]:
    """Draw one image; returns the uint8 BGR image and (class, visible mask) per object."""
    size = cfg.image_size
    img = _background(rng, size)
    instance_map = np.zeros((size, size), np.int32)  # 0 = background, k = object k
    classes: List[str] = []
    full_areas: List[int] = []
    target = int(rng.integers(cfg.min_objects, cfg.max_objects + 1))
    attempts = 0
    while len(classes) < target and attempts < 20 * target:
        attempts += 1
        pool = cfg.novel_classes if (cfg.novel_classes and
                                     rng.random() < cfg.novel_ratio) else cfg.base_classes
        shape = pool[rng.integers(len(pool))]
        poly = _place_polygon(rng, shape, cfg)
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
        mask = mask.astype(bool)
        if mask.sum() < 16:
            continue
        # every object already drawn must stay mostly visible under the new one
        ids, covered = np.unique(instance_map[mask], return_counts=True)
        ok = True
        for k, c in zip(ids, covered):
            if k == 0:
                continue
            remaining = (instance_map == k).sum() - c
            if remaining < cfg.min_visible * full_areas[k - 1] or remaining < 16:
                ok = False
                break
        if not ok:
            continue
        tex = _texture(rng, size, size)
        img[mask] = tex[mask]
        # dark outline so that neighbouring objects with similar colours stay separable
        cv2.polylines(img, [np.round(poly).astype(np.int32)], True,
                      tuple(float(v) for v in _random_color(rng) * 0.3), 1)
        classes.append(shape)
        full_areas.append(int(mask.sum()))
        instance_map[mask] = len(classes)
    objects = [(name, instance_map == k + 1) for k, name in enumerate(classes)]
    return np.clip(img, 0, 255).astype(np.uint8), objects


def _coco_annotation(mask: np.ndarray, ann_id: int, image_id: int, category_id: int) -> dict:
    ys, xs = np.nonzero(mask)
    x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
    rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    rle['counts'] = rle['counts'].decode('ascii')
    return dict(id=ann_id, image_id=image_id, category_id=category_id,
                bbox=[x0, y0, x1 - x0, y1 - y0], area=int(mask.sum()), iscrowd=0,
                segmentation=rle)


def _categories(cfg: GeneratorConfig) -> List[dict]:
    names = list(cfg.base_classes) + list(cfg.novel_classes)
    return [dict(id=i + 1, name=n, supercategory='shape',
                 split='base' if n in cfg.base_classes else 'novel') for i, n in enumerate(names)]


def _lvis_copy(coco: dict, drawn: Dict[int, set], rng: np.random.Generator) -> dict:
    """LVIS-v1-format copy of a COCO-format dict (federated fields included).

    ``drawn`` maps image id -> category ids really drawn in it (annotated or not), so
    that ``neg_category_ids`` (verified absent) never names an unannotated novel object.
    """
    cats = []
    for c in coco['categories']:
        n_img = len({a['image_id'] for a in coco['annotations'] if a['category_id'] == c['id']})
        n_ins = sum(a['category_id'] == c['id'] for a in coco['annotations'])
        cats.append(dict(id=c['id'], name=c['name'], synset=f"{c['name']}.n.01",
                         synonyms=[c['name']], def_=f"a {c['name']}",
                         frequency=LVIS_FREQUENCY.get(c['name'], 'f'),
                         image_count=n_img, instance_count=n_ins, split=c['split']))
    for c in cats:
        c['def'] = c.pop('def_')
    images = []
    all_ids = [c['id'] for c in cats]
    for img in coco['images']:
        absent = [c for c in all_ids if c not in drawn[img['id']]]
        neg = sorted(int(c) for c in rng.permutation(absent)[:3]) if absent else []
        images.append(dict(id=img['id'], width=img['width'], height=img['height'],
                           file_name=img['file_name'],
                           coco_url=f"http://images.cocodataset.org/{img['file_name']}",
                           neg_category_ids=neg, not_exhaustive_category_ids=[]))
    anns = [{k: v for k, v in a.items() if k != 'iscrowd'} for a in coco['annotations']]
    return dict(info=dict(coco['info'], format='lvis_v1'), licenses=[], images=images,
                annotations=anns, categories=cats)


def generate_split(cfg: GeneratorConfig, split: str, num_images: int,
                   out_dir: str) -> Tuple[dict, dict]:
    """Render one split; returns (annotated-all dict, base-only dict) in COCO format."""
    split_code = {'train': 0, 'val': 1}[split]
    name_to_id = {c['name']: c['id'] for c in _categories(cfg)}
    images, anns = [], []
    img_dir = osp.join(out_dir, split)
    os.makedirs(img_dir, exist_ok=True)
    for index in range(num_images):
        rng = np.random.default_rng([cfg.seed, split_code, index])
        img, objects = _render_image(rng, cfg)
        file_name = f'{split}/{index:06d}.png'
        cv2.imwrite(osp.join(out_dir, file_name), img)
        image_id = index + 1
        images.append(dict(id=image_id, file_name=file_name, width=cfg.image_size,
                           height=cfg.image_size))
        for name, mask in objects:
            anns.append(_coco_annotation(mask, len(anns) + 1, image_id, name_to_id[name]))
    info = dict(description=f'OWD-shapes {split} (mmowp generated)', version=GENERATOR_VERSION,
                seed=cfg.seed)
    full = dict(info=info, licenses=[], images=images, annotations=anns,
                categories=_categories(cfg))
    base_ids = {name_to_id[n] for n in cfg.base_classes}
    base_only = dict(full, annotations=[a for a in anns if a['category_id'] in base_ids])
    return full, base_only


def _write_json(obj: dict, path: str) -> None:
    with open(path, 'w') as f:
        json.dump(obj, f, separators=(',', ':'))


def generate(out_dir: str, cfg: Optional[GeneratorConfig] = None,
             overwrite: bool = False) -> str:
    """Write the dataset to ``out_dir`` (see the module docstring for the layout).

    If ``out_dir`` already holds a dataset generated with the same parameters, nothing is
    rewritten. A dataset generated with different parameters is replaced only when
    ``overwrite=True``; a non-empty folder that is not a generated dataset is never touched.

    Returns:
        str: ``out_dir``.
    """
    cfg = cfg or GeneratorConfig()
    cfg.validate()
    meta = dict(generator_version=GENERATOR_VERSION, **asdict(cfg))
    meta_path = osp.join(out_dir, 'meta.json')
    if osp.isfile(meta_path):
        with open(meta_path) as f:
            old = json.load(f)
        if old == meta and all(osp.isfile(p) for p in annotation_files(out_dir).values()):
            return out_dir
        if not overwrite:
            diff = sorted(k for k in set(old) | set(meta) if old.get(k) != meta.get(k))
            raise FileExistsError(
                f'{out_dir!r} holds a generated dataset with different parameters '
                f'(differs in: {diff}); pass overwrite=True (CLI: --overwrite) to replace it')
        for sub in ('train', 'val', 'annotations'):
            shutil.rmtree(osp.join(out_dir, sub), ignore_errors=True)
        os.remove(meta_path)
    elif osp.isdir(out_dir) and os.listdir(out_dir):
        raise FileExistsError(
            f'{out_dir!r} is not empty and is not a generated dataset (no meta.json); '
            'refusing to write into it')
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    files = annotation_files(out_dir)
    lvis_rng = np.random.default_rng([cfg.seed, 7])
    for split, num in (('train', cfg.num_train), ('val', cfg.num_val)):
        full, base_only = generate_split(cfg, split, num, out_dir)
        drawn: Dict[int, set] = {img['id']: set() for img in full['images']}
        for a in full['annotations']:
            drawn[a['image_id']].add(a['category_id'])
        if split == 'train':
            _write_json(base_only, files['train'])
            _write_json(full, files['train_all'])
            _write_json(_lvis_copy(base_only, drawn, lvis_rng), files['lvis_train'])
        else:
            _write_json(full, files['val'])
            _write_json(_lvis_copy(full, drawn, lvis_rng), files['lvis_val'])
    with open(meta_path, 'w') as f:  # written last: marks a complete dataset
        json.dump(meta, f, indent=1)
    return out_dir


def annotation_files(out_dir: str) -> Dict[str, str]:
    """Paths of the annotation files of a generated dataset, by role."""
    ann = osp.join(out_dir, 'annotations')
    return dict(train=osp.join(ann, 'instances_train.json'),
                train_all=osp.join(ann, 'instances_train_all.json'),
                val=osp.join(ann, 'instances_val.json'),
                lvis_train=osp.join(ann, 'lvis_v1_train.json'),
                lvis_val=osp.join(ann, 'lvis_v1_val.json'))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    defaults = GeneratorConfig()
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('out_dir', nargs='?', default='data/owd_shapes')
    for name in ('num_train', 'num_val', 'image_size', 'min_objects', 'max_objects',
                 'min_size', 'max_size', 'seed'):
        p.add_argument('--' + name.replace('_', '-'), type=int, default=getattr(defaults, name))
    p.add_argument('--novel-ratio', type=float, default=defaults.novel_ratio)
    p.add_argument('--base-classes', nargs='+', default=defaults.base_classes)
    p.add_argument('--novel-classes', nargs='*', default=defaults.novel_classes)
    p.add_argument('--overwrite', action='store_true',
                   help='replace an existing generated dataset with different parameters')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = vars(parse_args(argv))
    out_dir, overwrite = args.pop('out_dir'), args.pop('overwrite')
    cfg = GeneratorConfig(**args)
    generate(out_dir, cfg, overwrite=overwrite)
    print(f'OWD-shapes dataset ready in {out_dir} '
          f'({cfg.num_train} train / {cfg.num_val} val images; base={cfg.base_classes}, '
          f'novel={cfg.novel_classes})')


if __name__ == '__main__':
    main()
