"""Reproduce the rows of seed 000 Table 1 on the generated OWD-shapes dataset, on the CPU.

Each selected row trains its toy config (``configs/toy/``) with a fixed seed, evaluates it with
the open-world metric (``OpenWorldCocoMetric``: base AP, base AR10/AR100, novel AR10/AR100,
class-agnostic, OLN protocol) and the results are printed next to the paper's numbers, in the
shape of Table 1, and written as markdown + a PNG bar chart.

    python tools/reproduce_toy.py --rows centerness cond-iou-cs-is     # the README demo pair
    python tools/reproduce_toy.py                                      # every Table 1 row

``finetune`` starts from the checkpoint of the ``iou-cs-is`` row (trained first when it is not
selected and has no checkpoint in ``--work-dir``). The dataset is generated when missing
(``python -m mmowp.datasets.generate``, default sizes). Numbers on 128x128 synthetic shapes with
a 16-channel ResNet-18 are a sanity check of the *ordering* of the methods, not of the paper's
values.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from collections import OrderedDict

import torch
from mmengine.config import Config
from mmengine.runner import Runner

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# run from a checkout: use its mmowp, not an older installed copy
sys.path.insert(0, ROOT)
import mmowp  # noqa: E402,F401  (registration)
from mmowp.models.dense_heads import OWPFCOSHead  # noqa: E402
from mmowp.utils.config import apply_data_root  # noqa: E402

TOY = osp.join(ROOT, 'configs', 'toy')
METRICS = ('base AP', 'base AR10', 'base AR100', 'novel AR10', 'novel AR100')
METRIC_KEYS = ('base_AP', 'base_AR@10', 'base_AR@100', 'novel_AR@10', 'novel_AR@100')
N = None
#: Table 1 of seed 000: name -> (group, method, toy config, paper numbers in METRICS order).
ROWS = OrderedDict([
    ('baseline', ('Baseline', 'logits * centerness', 'fcos_toy_r18_owd-shapes.py',
                  (44.21, 55.33, 59.23, N, N))),
    ('centerness', ('OWP', 'centerness', 'owp_fcos_toy_centerness_owd-shapes.py',
                    (N, 22.71, 44.09, 9.900, 25.48))),
    ('iou', ('OWP', 'IOU', 'owp_fcos_toy_iou_owd-shapes.py', (N, 32.67, 53.26, 13.43, 28.31))),
    ('sqrt-centerness-iou', ('OWP', 'sqrt(centerness * IOU)',
                             'owp_fcos_toy_sqrt-centerness-iou_owd-shapes.py',
                             (N, 26.20, 48.66, 11.60, 28.10))),
    ('iou-cs-is', ('OWP', 'IOU-CS-IS', 'owp_fcos_toy_iou-cs-is_owd-shapes.py',
                   (N, 32.86, 53.59, 13.08, 30.19))),
    ('cond-iou-cs-is', ('OWP', 'Conditional IOU-CS-IS',
                        'owp_fcos_toy_cond-iou-cs-is_owd-shapes.py',
                        (N, 34.52, 54.10, 14.51, 31.26))),
    ('finetune', ('OWP-Aware', 'logits * IOU-CS-IS (Finetune)',
                  'owp-aware_fcos_toy_iou-cs-is_finetune_owd-shapes.py',
                  (46.07, 59.25, 64.12, 11.67, 28.39))),
    ('joint', ('OWP-Aware', 'logits * IOU-CS-IS (joint)',
               'owp-aware_fcos_toy_iou-cs-is_joint_owd-shapes.py',
               (46.01, 58.24, 63.45, 11.12, 26.89))),
    ('joint-unknown', ('OWP-Aware', 'joint + unknown',
                       'owp-aware_fcos_toy_iou-cs-is_joint-unknown_owd-shapes.py',
                       (46.21, 60.42, 64.85, 11.32, 27.82))),
])
#: Rows that start from another row's final checkpoint.
DEPENDS = {'finetune': 'iou-cs-is'}


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='+', choices=list(ROWS), default=list(ROWS),
                        help='Table 1 rows to train (default: all)')
    parser.add_argument('--data-root', default='data/owd_shapes',
                        help='generated dataset (created when missing)')
    parser.add_argument('--work-dir', default='work_dirs/reproduce_toy')
    parser.add_argument('--out', default=None,
                        help='markdown output (default: <work-dir>/table1_toy.md; the PNG '
                        'chart goes next to it)')
    parser.add_argument('--iters', type=int, default=None,
                        help='training iterations per row (default: the toy configs\' own); '
                        'lr steps, warm-up and masking start scale with it')
    parser.add_argument('--batch-size', type=int, default=None, help='training batch size')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads per run (1: on a small or shared CPU, extra '
                        'OpenMP threads cost more than they give)')
    parser.add_argument('--retrain', action='store_true',
                        help='train rows again even if their results exist in --work-dir')
    return parser.parse_args()


def ensure_dataset(data_root: str) -> None:
    if osp.isfile(osp.join(data_root, 'annotations', 'instances_val.json')):
        return
    from mmowp.datasets.generate import GeneratorConfig, generate
    print(f'[reproduce_toy] generating the OWD-shapes dataset into {data_root}')
    generate(data_root, GeneratorConfig())


def _scale(value: float, factor: float) -> int:
    return max(1, int(round(value * factor)))


def scale_schedule(cfg: Config, iters: int) -> None:
    """Shrink/stretch the toy schedule to ``iters``: warm-up, lr steps, masking start."""
    old = cfg.train_cfg.max_iters
    factor = iters / old
    cfg.train_cfg.max_iters = iters
    for sched in cfg.param_scheduler:
        if sched.get('end') is not None:
            sched['end'] = min(iters, _scale(sched['end'], factor))
        if 'milestones' in sched:
            sched['milestones'] = [_scale(m, factor) for m in sched['milestones']]
    loss_cls = cfg.model.bbox_head.get('loss_cls', {})
    if loss_cls.get('type') == 'UnknownObjectMaskedLoss':
        loss_cls['start_iter'] = int(round(loss_cls['start_iter'] * factor))


def build_cfg(name: str, args, work_dir: str, load_from=None) -> Config:
    cfg = Config.fromfile(osp.join(TOY, ROWS[name][2]))
    apply_data_root(cfg, args.data_root)
    if args.iters:
        scale_schedule(cfg, args.iters)
    iters = cfg.train_cfg.max_iters
    if args.batch_size:
        cfg.train_dataloader.batch_size = args.batch_size
    cfg.work_dir = work_dir
    cfg.randomness = dict(seed=args.seed, deterministic=False)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=iters,
                                        max_keep_ckpts=1, save_last=True)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, iters // 6))
    # evaluate once, after training, on the test split with the open-world metric
    ann_file = osp.join(args.data_root, 'annotations', 'instances_val.json')
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    # class-agnostic score modes label every box "object": no base AP (N/A, as in Table 1)
    agnostic = cfg.model.bbox_head.get('score_mode') in OWPFCOSHead.CLASS_AGNOSTIC_MODES
    cfg.test_evaluator = dict(type='OpenWorldCocoMetric', ann_file=ann_file,
                              known_classes='owd_base', proposal_nums=(10, 100),
                              class_agnostic=agnostic, plot_dir=work_dir)
    if load_from is not None:
        cfg.load_from = load_from
    elif name in DEPENDS:
        raise ValueError(f'row {name!r} needs the checkpoint of row {DEPENDS[name]!r}')
    return cfg


def run_row(name: str, args, load_from=None) -> dict:
    """Train + evaluate one row; cached in ``<work_dir>/<name>/result.json``."""
    work_dir = osp.join(args.work_dir, name)
    result_file = osp.join(work_dir, 'result.json')
    if osp.isfile(result_file) and not args.retrain:
        with open(result_file) as f:
            cached = json.load(f)
        if cached.get('settings') == settings(args):
            print(f'[reproduce_toy] {name}: cached result in {result_file}')
            return cached
    cfg = build_cfg(name, args, work_dir, load_from)
    t0, c0 = time.time(), time.process_time()
    runner = Runner.from_cfg(cfg)
    runner.train()
    t_train = time.time() - t0
    metrics = runner.test()
    t_total = time.time() - t0
    cpu = time.process_time() - c0
    values = []
    for key in METRIC_KEYS:
        v = next((m for k, m in metrics.items() if k.split('/')[-1] == key), None)
        values.append(None if v is None or v < 0 else 100.0 * v)
    ckpt = osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    out = dict(row=name, config=ROWS[name][2], values=values, train_s=round(t_train, 1),
               total_s=round(t_total, 1), cpu_s=round(cpu, 1), checkpoint=ckpt,
               settings=settings(args))
    os.makedirs(work_dir, exist_ok=True)
    with open(result_file, 'w') as f:
        json.dump(out, f, indent=1)
    print(f'[reproduce_toy] {name}: {fmt_values(values)} ({t_total:.0f} s wall, '
          f'{cpu:.0f} s CPU)')
    return out


def settings(args) -> dict:
    return dict(iters=args.iters, batch_size=args.batch_size, seed=args.seed,
                data_root=osp.abspath(args.data_root))


def fmt(v) -> str:
    return 'N/A' if v is None else f'{v:.2f}'


def fmt_values(values) -> str:
    return ', '.join(f'{m} {fmt(v)}' for m, v in zip(METRICS, values))


def markdown(results: 'OrderedDict[str, dict]', args) -> str:
    lines = [
        '| group | method | ' + ' | '.join(f'{m} toy (paper)' for m in METRICS) +
        ' | wall / CPU time |',
        '|---|---|' + '---:|' * len(METRICS) + '---:|'
    ]
    for name, res in results.items():
        group, method, _, paper = ROWS[name]
        cells = [f'{fmt(t)} ({fmt(p)})' for t, p in zip(res['values'], paper)]
        lines.append(f'| {group} | {method} | ' + ' | '.join(cells) +
                     f' | {res["total_s"]:.0f} s / {res.get("cpu_s", float("nan")):.0f} s |')
    iters = args.iters or 'config default'
    lines.append('')
    lines.append(f'Toy: OWD-shapes ({args.data_root}), ResNet-18/16ch FCOS, {iters} iterations, '
                 f'seed {args.seed}, CPU ({args.threads} thread(s)); paper: COCO VOC -> non-VOC, '
                 'R50-FPN, 90k iterations. AR/AP in %, class-agnostic AR at IoU 0.50:0.95 '
                 '(OLN protocol); time = train + evaluation of the row (CPU time counts '
                 'this process only: what the row costs on an idle machine).')
    return '\n'.join(lines) + '\n'


def bar_chart(results: 'OrderedDict[str, dict]', path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = list(results)
    fig, axes = plt.subplots(1, len(METRICS), figsize=(3.2 * len(METRICS), 3.8), sharey=False)
    x = range(len(names))
    for j, (ax, metric) in enumerate(zip(axes, METRICS)):
        toy = [results[n]['values'][j] or 0.0 for n in names]
        paper = [ROWS[n][3][j] or 0.0 for n in names]
        ax.bar([i - 0.2 for i in x], toy, width=0.4, label='toy (this repo)', color='tab:blue')
        ax.bar([i + 0.2 for i in x], paper, width=0.4, label='paper (COCO)', color='tab:gray',
               alpha=0.6)
        ax.set_title(metric)
        if not any(toy) and not any(paper):
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, 'N/A (class-agnostic rows)', ha='center', va='center',
                    transform=ax.transAxes, fontsize=8)
        ax.set_xticks(list(x))
        ax.set_xticklabels(names, rotation=60, ha='right', fontsize=7)
        ax.grid(True, axis='y', alpha=0.3)
        if j == 0:
            ax.set_ylabel('%')
            ax.legend(fontsize=7)
    fig.suptitle('Seed 000 Table 1: toy reproduction vs paper (N/A drawn as 0)')
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main():
    args = parse_args()
    torch.set_num_threads(args.threads)
    ensure_dataset(args.data_root)
    order = [n for n in ROWS if n in args.rows]
    results = OrderedDict()
    extra = {}
    for name in order:
        load_from = None
        if name in DEPENDS:
            dep = DEPENDS[name]
            dep_res = results.get(dep) or extra.get(dep)
            if dep_res is None:
                print(f'[reproduce_toy] {name} starts from row {dep}: training it first')
                dep_res = extra[dep] = run_row(dep, args)
            load_from = dep_res['checkpoint']
        results[name] = run_row(name, args, load_from)
    table = markdown(results, args)
    out = args.out or osp.join(args.work_dir, 'table1_toy.md')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(table)
    png = osp.splitext(out)[0] + '.png'
    bar_chart(results, png)
    print('\nSeed 000 Table 1 on the toy dataset (toy value, paper value in parentheses):\n')
    print(table)
    print(f'[reproduce_toy] wrote {out} and {png}')


if __name__ == '__main__':
    main()
