"""One rank of the uneven-shard evaluation in tests/test_dist.py (not a test module).

``python -m tests._dist_metric_worker GT.json OUT_DIR`` with ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ``MASTER_PORT`` set: joins a gloo process group, takes its shard of the
images from mmengine's ``DefaultSampler`` (as mmdet's test dataloader does: no shuffle,
the last shard padded by repeating the first indices), feeds the deterministic fake
predictions of those images to ``OpenWorldCocoMetric.process`` and calls ``evaluate``
(mmengine gathers the shards and drops the padding). Rank 0 writes the metrics and the
image ids that reached ``compute_metrics``; ``WORLD_SIZE=1`` runs without a process group.
"""
import json
import os
import os.path as osp
import sys
from typing import List

import numpy as np
import torch
from mmengine.dataset import DefaultSampler
from mmengine.structures import InstanceData

import mmowp  # noqa: F401
from mmowp.evaluation import OpenWorldCocoMetric


def fake_predictions(img_id: int, gt_boxes: List[list]) -> dict:
    """Up to 6 boxes per image, the same in every process: jittered GT and random boxes."""
    rng = np.random.default_rng([11, img_id])
    boxes = []
    for _ in range(int(rng.integers(1, 7))):
        if gt_boxes and rng.random() < 0.6:
            x, y, w, h = gt_boxes[rng.integers(len(gt_boxes))]
            x, y = x + rng.normal(0, 2), y + rng.normal(0, 2)
            w, h = w * rng.uniform(0.85, 1.15), h * rng.uniform(0.85, 1.15)
        else:
            x, y = rng.uniform(0, 100, 2)
            w, h = rng.uniform(4, 40, 2)
        boxes.append([x, y, x + w, y + h])
    boxes = np.asarray(boxes, np.float32)
    return dict(img_id=img_id, ori_shape=(128, 128), pred_instances=InstanceData(
        bboxes=torch.from_numpy(boxes),
        scores=torch.from_numpy(np.round(rng.random(len(boxes)), 2).astype(np.float32)),
        labels=torch.zeros(len(boxes), dtype=torch.long)))


class RecordingMetric(OpenWorldCocoMetric):
    """Remembers the image ids gathered for ``compute_metrics`` (rank 0)."""

    def compute_metrics(self, results: list) -> dict:
        self.gathered = [int(pred['img_id']) for _, pred in results]
        return super().compute_metrics(results)


def main(gt_file: str, out_dir: str) -> None:
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world > 1:
        torch.distributed.init_process_group('gloo')
    with open(gt_file) as f:
        gt = json.load(f)
    img_ids = [im['id'] for im in gt['images']]
    by_img: dict = {}
    for a in gt['annotations']:
        by_img.setdefault(a['image_id'], []).append(a['bbox'])
    metric = RecordingMetric(ann_file=gt_file, known_classes=['base_a', 'base_b'],
                             proposal_nums=(1, 10, 100), class_agnostic=True, progress=False,
                             plot_dir=out_dir)
    metric.dataset_meta = dict(classes=('object', ))
    sampler = DefaultSampler(img_ids, shuffle=False)  # pads the last shard (round_up)
    shard = list(sampler)
    batch = []
    for idx in shard:
        batch.append(fake_predictions(img_ids[idx], by_img.get(img_ids[idx], [])))
        if len(batch) == 8:
            metric.process({}, batch)
            batch = []
    if batch:
        metric.process({}, batch)
    metrics = metric.evaluate(len(img_ids))
    rank = torch.distributed.get_rank() if world > 1 else 0
    with open(osp.join(out_dir, f'shard_{rank}.json'), 'w') as f:
        json.dump(dict(shard_size=len(shard), metrics=metrics), f)
    if rank == 0:
        with open(osp.join(out_dir, 'metrics.json'), 'w') as f:
            json.dump(dict(metrics=metrics, gathered=metric.gathered), f)
    if world > 1:
        torch.distributed.destroy_process_group()


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2])
