"""The evaluation step at COCO-val and LVIS-val scale, through ``tools/test.py``.

What runs is the real test path: ``tools/test.py`` -> MMEngine ``Runner.test`` ->
``TestLoop`` -> dataset (``OpenWorldCocoDataset`` / ``OpenWorldLVISV1Dataset``) and the
configs' test pipeline -> model ``test_step`` -> ``OpenWorldCocoMetric.process`` per batch
-> ``OpenWorldCocoMetric.compute_metrics`` (novel and base AR under both protocols, base AP;
for LVIS the base AP comes from the lvis API) -> the metrics json. Only two things are not
those of a real run, and both only make the run fit this CPU:

* the detector is :class:`StoredBoxesDetector`, registered here: it returns, for each
  image, random boxes generated from ``(seed, image id)`` (so the same boxes every time,
  as if stored; 40 % of them near a ground-truth box, random scores and known-class
  labels), 100 per image for COCO and 300 for LVIS;
* the image files are 16x16 PNGs (the annotation json says 640x480); the test pipeline is
  the configs' with ``Resize`` to 16x16 and without ``LoadAnnotations`` (the metric reads
  the ground truth from the json, not from the pipeline).

Generated validation sets, each run at three sizes:

* ``coco``: COCO-val-like, up to 5,000 images over the 80 COCO categories (Poisson 7 GT per
  image, 1 % crowd), VOC -> non-VOC split, AR@10/100, base AP by mmowp's array COCOeval;
* ``lvis``: LVIS-val-like in LVIS v1 format (1,203 categories with LVIS's r/c/f counts,
  Poisson 12 GT per image, ``lvis_base`` split, AR@300), base AP by the lvis API
  (federated, as the LVIS config evaluates). The lvis API keeps a Python dict per
  detection (as mmdet's ``LVISMetric`` does), about 3.3 KB each: 20,000 images x 300
  boxes would need about 20 GB, more than this machine has, so this case runs to 2,000
  images and the table gives the per-detection cost;
* ``lvis_arrays``: the same LVIS-format set at full size (up to 20,000 images x 300 boxes)
  with ``ann_format='coco'``: every recall number is the same computation as in ``lvis``,
  only the base AP comes from the array COCOeval (not federated).

Measured inside the test process by :class:`EvalStepProbe` (a hook, also registered here):

* the evaluation step = from the end of the last test iteration to ``after_test_epoch``
  (``Evaluator.evaluate``: ``compute_metrics`` and the metric's json/plot output): wall
  time and peak resident memory (Linux ``VmHWM``, reset at its start through
  ``/proc/self/clear_refs``), absolute and above the resident memory at its start;
* the inference loop: resident memory growth per image (after ``gc.collect`` and glibc's
  ``malloc_trim``, so that freed memory the allocator keeps does not count), next to the
  bytes of what mmdet's ``CocoMetric.process`` keeps per image (its ``results`` list,
  measured object by object), and the live Python objects added per image, by type.

Several sizes per case show whether memory is flat in the number of images: the memory per
detection (and its marginal value between two sizes) should not grow with the size.

Usage (the machine is shared: it runs under ``nice``)::

    python benchmarks/bench_scale_eval.py     # all cases, all sizes (about 25 minutes)
    python benchmarks/bench_scale_eval.py --coco 5000 --lvis --lvis-arrays 20000
"""
import argparse
import ctypes
import gc
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmdet.registry import HOOKS, MODELS
from mmdet.structures import DetDataSample
from mmengine.hooks import Hook
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
if REPO not in sys.path:  # benchmark this checkout, not an installed copy of mmowp
    sys.path.insert(0, REPO)
IMG_W, IMG_H = 640, 480


# ------------------------------------------------------------------ the generated data
def image_case(seed: int, img_id: int, gt_per_img: float, num_dets: int,
               num_labels: int) -> tuple:
    """GT boxes (xywh) and predictions (xyxy, scores, labels) of one image.

    GT geometry, predictions and GT categories come from three independent streams seeded
    by ``(seed, img_id)``, so the model regenerates the predictions without the json.
    """
    rng = np.random.default_rng([seed, img_id, 0])
    n = int(rng.poisson(gt_per_img))
    xy = rng.uniform(0, 1, (n, 2)) * np.array([IMG_W - 80, IMG_H - 80])
    wh = np.exp(rng.uniform(np.log(4), np.log(400), (n, 2)))
    wh = np.minimum(wh, np.array([IMG_W, IMG_H]) - xy)  # inside the image, >= 80 px room
    gt = np.concatenate([xy, wh], 1)
    rng = np.random.default_rng([seed, img_id, 1])
    k = num_dets
    x, y = rng.uniform(0, IMG_W - 80, k), rng.uniform(0, IMG_H - 80, k)
    w, h = np.exp(rng.uniform(np.log(4), np.log(400), (2, k)))
    if n:
        near = rng.random(k) < 0.4
        pick = gt[rng.integers(0, n, k)]
        x = np.where(near, pick[:, 0] + rng.normal(0, 0.05, k) * pick[:, 2], x)
        y = np.where(near, pick[:, 1] + rng.normal(0, 0.05, k) * pick[:, 3], y)
        w = np.where(near, pick[:, 2] * rng.uniform(0.8, 1.25, k), w)
        h = np.where(near, pick[:, 3] * rng.uniform(0.8, 1.25, k), h)
    boxes = np.stack([x, y, x + w, y + h], 1).astype(np.float32)
    return gt, boxes, rng.random(k).astype(np.float32), rng.integers(0, num_labels, k)


def lvis_categories() -> List[dict]:
    """1,203 categories with LVIS v1's rare / common / frequent counts (337 / 461 / 405)."""
    rng = np.random.default_rng(1)
    freq = np.array(['r'] * 337 + ['c'] * 461 + ['f'] * 405)
    rng.shuffle(freq)
    return [dict(id=i + 1, name=f'cat_{i + 1}', synset=f'cat_{i + 1}.n.01',
                 synonyms=[f'cat_{i + 1}'], frequency=str(f), image_count=0,
                 instance_count=0, **{'def': f'category {i + 1}'})
            for i, f in enumerate(freq)]


def write_dataset(root: str, case: str, n_img: int, seed: int, gt_per_img: float,
                  num_dets: int, num_labels: int) -> str:
    """Write tiny images and the annotation json; returns the json path."""
    import cv2

    from mmowp.datasets.splits import COCO_CLASSES
    lvis = case.startswith('lvis')
    cats = lvis_categories() if lvis else [dict(id=i + 1, name=n, supercategory='thing')
                                           for i, n in enumerate(COCO_CLASSES)]
    cat_ids = np.array([c['id'] for c in cats])
    img_dir = osp.join(root, 'val2017')
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    ok, png = cv2.imencode('.png', np.full((16, 16, 3), 127, np.uint8))
    assert ok
    png = png.tobytes()
    images, anns = [], []
    for img_id in range(1, n_img + 1):
        name = f'{img_id:012d}.png'
        with open(osp.join(img_dir, name), 'wb') as f:
            f.write(png)
        img = dict(id=img_id, width=IMG_W, height=IMG_H)
        if lvis:
            img.update(coco_url=f'http://images.cocodataset.org/val2017/{name}',
                       neg_category_ids=[], not_exhaustive_category_ids=[])
        else:
            img.update(file_name=name)
        images.append(img)
        gt = image_case(seed, img_id, gt_per_img, 0, 1)[0]
        rng = np.random.default_rng([seed, img_id, 2])
        for box, cat in zip(gt.tolist(), rng.choice(cat_ids, len(gt)).tolist()):
            ann = dict(id=len(anns) + 1, image_id=img_id, category_id=int(cat), bbox=box,
                       area=box[2] * box[3] * float(rng.uniform(0.4, 0.9)),
                       segmentation=[[box[0], box[1], box[0] + box[2], box[1],
                                      box[0] + box[2], box[1] + box[3]]])
            if not lvis:
                ann['iscrowd'] = int(rng.random() < 0.01)
            anns.append(ann)
    ann_file = osp.join(root, 'annotations',
                        'lvis_v1_val.json' if lvis else 'instances_val2017.json')
    with open(ann_file, 'w') as f:
        json.dump(dict(info=dict(description=f'generated {case}-like val'), licenses=[],
                       images=images, annotations=anns, categories=cats), f)
    return ann_file


# ------------------------------------------------------------------ the fake model
@MODELS.register_module()
class StoredBoxesDetector(BaseModel):
    """Returns :func:`image_case`'s predictions for each image id (no computation).

    Args:
        seed (int): The seed the dataset was generated with.
        gt_per_img (float): Mean GT boxes per image of the dataset.
        num_dets (int): Boxes returned per image.
        num_labels (int): Labels are drawn from ``range(num_labels)`` (the known classes).
        data_preprocessor (dict, optional): As :class:`mmengine.model.BaseModel`.
    """

    def __init__(self, seed: int, gt_per_img: float, num_dets: int, num_labels: int,
                 data_preprocessor: Optional[dict] = None) -> None:
        super().__init__(data_preprocessor=data_preprocessor)
        self.register_buffer('seed', torch.tensor(seed))
        self.gt_per_img, self.num_dets, self.num_labels = gt_per_img, num_dets, num_labels

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[DetDataSample]] = None,
                mode: str = 'tensor') -> List[DetDataSample]:
        if mode != 'predict':
            raise NotImplementedError('StoredBoxesDetector only predicts')
        for sample in data_samples:
            _, boxes, scores, labels = image_case(int(self.seed), sample.img_id,
                                                  self.gt_per_img, self.num_dets,
                                                  self.num_labels)
            sample.pred_instances = InstanceData(bboxes=torch.from_numpy(boxes),
                                                 scores=torch.from_numpy(scores),
                                                 labels=torch.from_numpy(labels))
        return data_samples


# ------------------------------------------------------------------ the probe
def _status(key: str) -> int:
    """A ``/proc/self/status`` memory field in bytes (Linux)."""
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _trim() -> None:
    """Return the allocator's free memory to the OS (glibc), so that RSS shows live data."""
    try:
        ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


def deep_bytes(obj, _seen: Optional[set] = None) -> int:
    """Bytes held by ``obj`` and what it references (dicts, lists, tuples, arrays, tensors)."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, np.ndarray):
        return size if obj.base is None else size + deep_bytes(obj.base, seen)
    if isinstance(obj, torch.Tensor):
        return size + obj.untyped_storage().nbytes()
    if isinstance(obj, dict):
        size += sum(deep_bytes(k, seen) + deep_bytes(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set)):
        size += sum(deep_bytes(v, seen) for v in obj)
    return size


@HOOKS.register_module()
class EvalStepProbe(Hook):
    """Records memory along the test loop and the time/peak memory of the evaluation step.

    Args:
        out_file (str): Where the measurements go (json).
    """

    priority = 'LOWEST'

    def __init__(self, out_file: str) -> None:
        self.out_file = out_file
        self.rows: Dict[str, object] = {}
        self.samples: List[tuple] = []
        self.types: List[tuple] = []
        self._sampler: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._max_rss = 0

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self._max_rss = max(self._max_rss, _status('VmRSS'))

    def _sample_loop(self, images: int) -> tuple:
        """(images done, resident bytes, live gc-tracked Python objects after a collection);
        the second and the last sample also count the live objects by type."""
        gc.collect()
        _trim()
        objects = gc.get_objects()
        if len(self.samples) == 1 or images == self.n_imgs:
            self.types.append((images, Counter(type(o).__name__ for o in objects)))
        return images, _status('VmRSS'), len(objects)

    def _type_growth(self) -> Dict[str, float]:
        """Live objects per image added between the second and the last sample, by type."""
        (i0, c0), (i1, c1) = self.types[0], self.types[-1]
        return {k: v / (i1 - i0) for k, v in (c1 - c0).most_common() if v / (i1 - i0) >= 0.05}

    def before_test_epoch(self, runner) -> None:
        self.n_iters = len(runner.test_dataloader)
        self.n_imgs = len(runner.test_dataloader.dataset)
        self.t_loop = time.perf_counter()
        self.samples.append(self._sample_loop(0))

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        done = batch_idx + 1
        if done % max(1, self.n_iters // 8) and done != self.n_iters:
            return
        images = min(done * runner.test_dataloader.batch_size, self.n_imgs)
        self.samples.append(self._sample_loop(images))
        if done != self.n_iters:
            return
        metric = runner.test_evaluator.metrics[0]
        kept = metric.results
        self.rows.update(
            loop_s=time.perf_counter() - self.t_loop, images=self.n_imgs,
            kept_results=len(kept), kept_bytes=deep_bytes(kept),
            loop_object_growth=self._type_growth(),
            detections=int(sum(len(r[1]['scores']) for r in kept)))
        # the evaluation step starts now
        _trim()
        self.rows['peak_method'] = 'VmHWM' if _reset_peak() else 'sampled VmRSS (50 ms)'
        self._max_rss = self.rss_eval_start = _status('VmRSS')
        self._stop.clear()
        self._sampler = threading.Thread(target=self._sample, daemon=True)
        self._sampler.start()
        self.t_eval = time.perf_counter()

    def after_test_epoch(self, runner, metrics=None) -> None:
        eval_s = time.perf_counter() - self.t_eval
        self._stop.set()
        self._sampler.join()
        peak = (_status('VmHWM') if self.rows['peak_method'] == 'VmHWM'
                else max(self._max_rss, _status('VmRSS')))
        self.rows.update(eval_s=eval_s, rss_eval_start=self.rss_eval_start, eval_peak=peak,
                         rss_after=_status('VmRSS'), loop_rss=self.samples,
                         metrics={k: v for k, v in (metrics or {}).items()
                                  if isinstance(v, (int, float))})
        with open(self.out_file, 'w') as f:
            json.dump(self.rows, f)


# ------------------------------------------------------------------ one run
CASES = dict(
    coco=dict(base='coco_voc2nonvoc.py', gt_per_img=7.0, num_dets=100, max_per_img=100),
    lvis=dict(base='lvis_v1_base2novel.py', gt_per_img=12.0, num_dets=300, max_per_img=300),
    # the same LVIS-format set, base AP by mmowp's array COCOeval instead of the lvis API
    # (ann_format='coco': not federated); the recall numbers are the same computation
    lvis_arrays=dict(base='lvis_v1_base2novel.py', gt_per_img=12.0, num_dets=300,
                     max_per_img=300, ann_format='coco'))


def prepare_case(case: str, n_img: int, tmp: str, seed: int = 0,
                 batch_size: int = 50) -> dict:
    """Generate the data set, the config and the checkpoint of one run."""
    spec = CASES[case]
    root = osp.join(tmp, f'{case}_{n_img}')
    ann_file = write_dataset(root, case, n_img, seed, spec['gt_per_img'], spec['num_dets'], 1)
    with open(ann_file) as f:
        cats = json.load(f)['categories']
    from mmowp.datasets.splits import resolve_classes
    num_labels = len(resolve_classes('lvis_base' if case.startswith('lvis') else 'voc', cats))
    probe = osp.join(root, 'probe.json')
    cfg_file = osp.join(root, 'bench_cfg.py')
    base = osp.join(REPO, 'configs', '_base_')
    with open(cfg_file, 'w') as f:
        f.write(f"""_base_ = [{osp.join(base, 'datasets', spec['base'])!r},
          {osp.join(base, 'default_runtime.py')!r}]
custom_imports = dict(imports=['mmowp', 'benchmarks.bench_scale_eval'],
                      allow_failed_imports=False)
model = dict(type='StoredBoxesDetector', seed={seed}, gt_per_img={spec['gt_per_img']},
             num_dets={spec['num_dets']}, num_labels={num_labels},
             data_preprocessor=dict(type='DetDataPreprocessor', pad_size_divisor=32))
test_pipeline = [
    dict(type='CheckedLoadImageFromFile'),
    dict(type='Resize', scale=(16, 16), keep_ratio=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))]
test_dataloader = dict(batch_size={batch_size}, num_workers=0, persistent_workers=False,
                       dataset=dict(pipeline=test_pipeline))
test_cfg = dict(type='TestLoop')
train_dataloader = val_dataloader = val_evaluator = None  # a test-only run
{f"test_evaluator = dict(ann_format={spec['ann_format']!r})" if 'ann_format' in spec else ''}
default_hooks = dict(logger=dict(interval=10 ** 6))
custom_hooks = [dict(type='CheckInvalidLossTermHook'),
                dict(type='EvalStepProbe', out_file={probe!r})]
""")
    ckpt = osp.join(root, 'stored_boxes.pth')
    torch.save({'state_dict': {'seed': torch.tensor(seed)}, 'meta': {}}, ckpt)
    return dict(root=root, cfg_file=cfg_file, ckpt=ckpt, probe=probe)


def run_case(case: str, n_img: int, tmp: str, seed: int = 0, batch_size: int = 50) -> dict:
    """Generate the data set, run ``tools/test.py`` on it, return the probe's numbers."""
    prep = prepare_case(case, n_img, tmp, seed, batch_size)
    root, cfg_file, ckpt, probe = prep['root'], prep['cfg_file'], prep['ckpt'], prep['probe']
    env = dict(os.environ, PYTHONPATH=REPO, OMP_NUM_THREADS='1')
    cmd = ['nice', '-n', '10', sys.executable, osp.join(REPO, 'tools', 'test.py'), cfg_file,
           ckpt, '--work-dir', osp.join(root, 'work'), '--cfg-options', f'data_root={root}/']
    from _timing import timed  # here: the module is also imported by tools/test.py's run
    out, t = timed(subprocess.run, cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = t.wall
    if out.returncode != 0:
        raise RuntimeError(f'tools/test.py failed ({case}, {n_img} images):\n'
                           + (out.stdout + out.stderr)[-6000:])
    with open(probe) as f:
        rows = json.load(f)
    rows.update(case=case, total_s=wall)
    shutil.rmtree(root, ignore_errors=True)
    return rows


def report(rows: Sequence[dict]) -> str:
    """A markdown table of the runs (rows of one case in increasing size)."""
    mib = 2 ** 20
    lines = ['| case | images | detections | tools/test.py total (s) | inference loop (s) | '
             'evaluation step (s) | evaluation step: process peak RSS (MiB) | '
             '... peak above its start (MiB) | ... per image (KiB) | ... per detection (B) | '
             '... marginal per detection vs the smaller run (B) | '
             'loop RSS growth per image (KiB) | mmdet-kept per image (KiB) | '
             'loop: live Python objects added per image |',
             '|' + '---|' * 14]
    prev = {}
    for r in rows:
        imgs = r['images']
        extra = r['eval_peak'] - r['rss_eval_start']
        last = prev.get(r['case'])
        marginal = ('' if last is None else
                    f"{(extra - last[0]) / (r['detections'] - last[1]):.0f}")
        prev[r['case']] = (extra, r['detections'])
        # from the first sample after the first batches (warm-up) to the end of the loop
        (i0, m0, o0), (i1, m1, o1) = r['loop_rss'][1], r['loop_rss'][-1]
        lines.append(
            f"| {r['case']} | {imgs} | {r['detections']} | {r['total_s']:.1f} | "
            f"{r['loop_s']:.1f} | {r['eval_s']:.1f} | {r['eval_peak'] / mib:.0f} | "
            f'{extra / mib:.0f} | {extra / imgs / 1024:.1f} | {extra / r["detections"]:.0f} | '
            f'{marginal} | {(m1 - m0) / max(i1 - i0, 1) / 1024:.2f} | '
            f'{r["kept_bytes"] / imgs / 1024:.2f} | {(o1 - o0) / max(i1 - i0, 1):.2f} ('
            + ', '.join(f'{k} {v:.2f}' for k, v in r['loop_object_growth'].items()) + ') |')
    return '\n'.join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--coco', type=int, nargs='*', default=[1250, 2500, 5000],
                   help='numbers of images of the COCO-like runs')
    p.add_argument('--lvis', type=int, nargs='*', default=[500, 1000, 2000],
                   help='numbers of images of the LVIS-like runs (base AP by the lvis API)')
    p.add_argument('--lvis-arrays', type=int, nargs='*', default=[5000, 10000, 20000],
                   help='numbers of images of the LVIS-like runs with ann_format=coco')
    p.add_argument('--json', help='also write every measurement to this file')
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, sizes in (('coco', args.coco), ('lvis', args.lvis),
                            ('lvis_arrays', args.lvis_arrays)):
            for n in sizes:
                r = run_case(case, n, tmp)
                rows.append(r)
                print(report([x for x in rows if x['case'] == case]).splitlines()[-1],
                      flush=True)
                print('   metrics: ' + ', '.join(
                    f'{k}={v:.4f}' for k, v in r['metrics'].items()
                    if k.split('/')[-1] in ('novel_AR@100', 'novel_AR@300', 'base_AP',
                                             'base_AR@100', 'base_AR@300')), flush=True)
    print(report(rows))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(rows, f, indent=1)


if __name__ == '__main__':
    main()
