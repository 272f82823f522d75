"""Toy RbA experiment (RbA (Nayal et al., ICCV 2023) on the generated OWD-shapes dataset), on the
CPU.

1. ``--base-checkpoint`` or train the toy OWP-aware model
   (``configs/toy/owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py``, schedule scaled to
   ``--base-iters``);
2. RbA fine-tuning from it
   (``configs/toy/rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py``,
   ``--ft-iters``; RbA loss with alpha 5 as in the config, its ``votes`` set by ``--rba-votes``:
   ``positive`` (default, the package's transfer of Eq. 6, 0 where every class rejects) or
   ``raw`` (Eq. 6 on raw logits, the formula before that transfer, to compare));
3. evaluation of both checkpoints on the val split with one forward pass each and several
   unknown scores: location- and box-level AUROC / AP / FPR95 of novel vs base objects
   (``UnknownDetectionMetric``, all novel classes and the two never-pasted ones), novel AR of
   the class-agnostic proposals (``OpenWorldCocoMetric``), base AP with ``cls*iou``.

    python tools/rba_toy.py --base-iters 200 --ft-iters 100 --work-dir work_dirs/rba_toy

Prints a markdown table and writes it, with a json of all numbers, to ``--work-dir``.
"""
import argparse
import json
import os
import os.path as osp
import time

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)
import torch
from mmdet.registry import METRICS
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.runner import Runner, load_checkpoint

import mmowp  # noqa: F401  (registration)
from mmowp.utils.config import apply_data_root
from mmowp.utils.schedule import scale_schedule

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOY = osp.join(ROOT, 'configs', 'toy')
BASE_CFG = osp.join(TOY, 'owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py')
SCORE_CFG = osp.join(TOY, 'rba-score-owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py')
FT_CFG = osp.join(TOY, 'rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py')
#: Unknown scores compared (class-agnostic score modes of OWPFCOSHead).
MODES = ('iou', 'rba', 'rej', 'iou*rba', 'iou*rej')


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--work-dir', default='work_dirs/rba_toy')
    p.add_argument('--base-checkpoint', help='skip step 1 and use this checkpoint')
    p.add_argument('--ft-checkpoint', help='skip step 2 and use this checkpoint')
    p.add_argument('--base-iters', type=int, default=600)
    p.add_argument('--ft-iters', type=int, default=100)
    p.add_argument('--p-out', type=float, help='override the fine-tuning p_out')
    p.add_argument('--rba-votes', choices=('positive', 'raw'), default='positive',
                   help="RbALoss(votes=...) of the fine-tuning (default: 'positive')")
    p.add_argument('--batch-size', type=int, default=8)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--data-root', help='generated dataset (default: the configs\' data_root)')
    return p.parse_args()


def load_cfg(path: str, data_root=None) -> Config:
    cfg = Config.fromfile(path)
    if data_root:
        apply_data_root(cfg, data_root)
        for t in cfg.train_dataloader.dataset.pipeline:
            if t['type'] == 'OutlierPaste':
                t['data_root'] = cfg.data_root
    return cfg


def train(cfg_path: str, work_dir: str, iters: int, args, load_from=None, p_out=None,
          rba_votes=None) -> str:
    cfg = load_cfg(cfg_path, args.data_root)
    scale_schedule(cfg, iters)
    cfg.work_dir = work_dir
    cfg.load_from = load_from
    cfg.randomness = dict(seed=args.seed)
    cfg.train_dataloader.batch_size = args.batch_size
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=iters,
                                        max_keep_ckpts=1)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, iters // 5))
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.pop('model_wrapper_cfg', None)
    if rba_votes is not None:
        cfg.model.bbox_head.loss_rba.votes = rba_votes
    if p_out is not None:
        for t in cfg.train_dataloader.dataset.pipeline:
            if t['type'] == 'OutlierPaste':
                t['p_out'] = p_out
    Runner.from_cfg(cfg).train()
    return osp.join(work_dir, f'iter_{iters}.pth')


@torch.no_grad()
def evaluate(ckpt: str, work_dir: str, data_root=None) -> dict:
    """One forward pass over val; every score mode evaluated from the same head outputs."""
    cfg = load_cfg(SCORE_CFG, data_root)
    cfg.work_dir = work_dir
    cfg.load_from = None
    cfg.train_dataloader = cfg.train_cfg = cfg.optim_wrapper = cfg.param_scheduler = None
    runner = Runner.from_cfg(cfg)
    model = runner.model
    load_checkpoint(model, ckpt, map_location='cpu')
    model.eval()
    head = model.bbox_head
    loader = runner.val_dataloader
    meta = loader.dataset.metainfo
    ann = cfg.val_evaluator[1]['ann_file']
    evaluators = {}
    for mode in MODES:
        evaluators[mode] = Evaluator([METRICS.build(dict(c)) for c in cfg.val_evaluator])
    evaluators['cls*iou'] = Evaluator([METRICS.build(dict(
        type='OpenWorldCocoMetric', ann_file=ann, known_classes='owd_base',
        class_agnostic=False, proposal_nums=(10, 100)))])
    for ev in evaluators.values():
        ev.dataset_meta = meta
    for data in loader:
        batch = model.data_preprocessor(data, False)
        feats = model.extract_feat(batch['inputs'])
        outs = head(feats)
        metas = [s.metainfo for s in batch['data_samples']]
        for mode, ev in evaluators.items():
            head.score_mode = mode
            head.test_cfg['return_unknown_maps'] = mode if mode != 'cls*iou' else False
            results = head.predict_by_feat(*outs, batch_img_metas=metas, rescale=True)
            samples = model.add_pred_to_datasample(
                [s.clone() for s in batch['data_samples']], results)
            ev.process(data_samples=samples, data_batch=data)
    n = len(loader.dataset)
    return {mode: ev.evaluate(n) for mode, ev in evaluators.items()}


def table(results: dict) -> str:
    cols = [('loc AUROC', 'unknown/location_AUROC'), ('loc AP', 'unknown/location_AP'),
            ('loc FPR95', 'unknown/location_FPR95'), ('box AUROC', 'unknown/box_AUROC'),
            ('box AP', 'unknown/box_AP'), ('box FPR95', 'unknown/box_FPR95'),
            ('held-out loc AUROC', 'unknown_heldout/location_AUROC'),
            ('held-out box AUROC', 'unknown_heldout/box_AUROC'),
            ('novel AR100', 'coco/novel_AR@100')]
    lines = ['| model | unknown score | ' + ' | '.join(c for c, _ in cols) + ' | base AP |',
             '|---' * (len(cols) + 3) + '|']
    for name, res in results.items():
        base_ap = res['cls*iou'].get('coco/base_AP', float('nan'))
        for mode in MODES:
            vals = ' | '.join(f'{100 * res[mode].get(k, float("nan")):.1f}' for _, k in cols)
            lines.append(f'| {name} | {mode} | {vals} | {100 * base_ap:.1f} |')
    return '\n'.join(lines)


def main():
    args = parse_args()
    os.makedirs(args.work_dir, exist_ok=True)
    t0 = time.time()
    base = args.base_checkpoint or train(BASE_CFG, osp.join(args.work_dir, 'base'),
                                         args.base_iters, args)
    t1 = time.time()
    ft = args.ft_checkpoint or train(FT_CFG, osp.join(args.work_dir, 'rba_finetune'),
                                     args.ft_iters, args, load_from=base, p_out=args.p_out,
                                     rba_votes=args.rba_votes)
    t2 = time.time()
    results = {'before (OWP-aware)': evaluate(base, osp.join(args.work_dir, 'eval_base'),
                                                      args.data_root),
               'after RbA fine-tuning': evaluate(ft, osp.join(args.work_dir, 'eval_ft'),
                                                         args.data_root)}
    t3 = time.time()
    md = table(results)
    md += (f'\n\nbase {args.base_iters if not args.base_checkpoint else "given"} iters '
           f'({t1 - t0:.0f} s), fine-tuning {args.ft_iters} iters ({t2 - t1:.0f} s), '
           f'evaluation {t3 - t2:.0f} s, batch {args.batch_size}, seed {args.seed}, '
           f'RbA loss votes {args.rba_votes!r}\n')
    print(md)
    with open(osp.join(args.work_dir, 'rba_toy.md'), 'w') as f:
        f.write(md)
    with open(osp.join(args.work_dir, 'rba_toy.json'), 'w') as f:
        json.dump(results, f, indent=1, default=float)


if __name__ == '__main__':
    main()
