"""Check the papers' claims on the generated OWD-shapes dataset, on the CPU, over several seeds.

Every row of the bed (:data:`ROWS`) is a toy config (``configs/toy/``), possibly with a few
overrides, trained and evaluated once per training seed. The rows cover FCOS-OWP Table 1,
Table 3, Appendix B and Figure 6, ATSS (Zhang et al., CVPR 2020) Tables 3-4, RbA (Nayal et
al., ICCV 2023) and the policy-gradient detector (Rao et al., CVPR 2018), plus an "oracle"
trained on every class that measures the open-world gap. For each row the table gives the mean
+- standard deviation over seeds; each of the papers' claims (:data:`CLAIMS`, "row is better /
worse / no different than its reference row on a metric") gets the paired difference over the
seeds both rows share and a verdict (:func:`verdict`, :func:`claim_verdict`):

* per seed s, ``d_s = row_s - ref_s`` (same seed, same data: seed effects common to both rows
  cancel); mean ``D``, standard error ``SE = sd(d) / sqrt(n)``;
* **better** when ``D > 2 SE`` *and* every ``d_s > 0``; **worse** when ``D < -2 SE`` and every
  ``d_s < 0`` (for metrics where lower is better, FPR95, the signs swap); otherwise
  **within noise**; with one seed there is no verdict. With 3 seeds the sign condition alone
  holds by chance with probability 1/4 for a row no different from its reference: this is a
  rule of thumb that keeps a 2-point difference from counting when seeds scatter by 3 points,
  not a significance test;
* the claim is **reproduced** when the toy verdict has the paper's sign, **within noise** when
  the toy cannot tell, **not reproduced** when the toy finds the opposite; a claim of "no
  difference" is reproduced when the toy finds none.

Results are cached per (row, seed, code version): ``<work-dir>/<row>/seed<s>/result.json``
holds a key hashing the row's resolved config, the seed, the mmowp sources, the dataset's
``meta.json`` and the key of the row it starts from; a re-run trains only what changed. Each
run owns its folder (logs, ``vis_data/scalars.json``, checkpoint). Rows run in child processes
(``--jobs N`` at a time, one torch thread each); ``--jobs 0`` runs them in this process.

    python tools/reproduce_toy.py --rows centerness cond-iou-cs-is --seeds 0   # the demo pair
    python tools/reproduce_toy.py --jobs 2                  # the full bed, 3 seeds (~2.2 h)
    python tools/reproduce_toy.py --jobs 2 --extra          # + rows beyond the papers' claims
    python tools/reproduce_toy.py --tables t1 atss          # some tables only

Writes ``<work-dir>/bed.md`` (tables + claims), ``bed.png`` (error bars) and ``bed.json``.
The dataset is generated when missing (``--gen-seed`` picks the generator's seed). Numbers on
128x128 synthetic shapes with a small ResNet-18 FCOS check the direction of the papers'
claims, not their values.
"""
import argparse
import concurrent.futures as futures
import glob
import hashlib
import json
import math
import os
import os.path as osp
import resource
import subprocess
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cache
from typing import Dict, List, Optional, Sequence, Tuple

import _path  # noqa: F401  (this checkout's mmowp, not an installed copy)

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
TOY = osp.join(ROOT, 'configs', 'toy')

#: Display name of a metric -> key suffix in the evaluator's output (``<prefix>/<suffix>``).
METRIC_KEYS: Dict[str, str] = OrderedDict([
    ('base AP', 'coco/base_AP'),
    ('base AR10', 'coco/base_AR@10'),
    ('base AR100', 'coco/base_AR@100'),
    ('novel AR10', 'coco/novel_AR@10'),
    ('novel AR100', 'coco/novel_AR@100'),
    ('box AUROC', 'unknown/box_AUROC'),
    ('box AP', 'unknown/box_AP'),
    ('box FPR95', 'unknown/box_FPR95'),
    ('loc AUROC', 'unknown/location_AUROC'),
    ('loc AP', 'unknown/location_AP'),
    ('loc FPR95', 'unknown/location_FPR95'),
])
#: Metrics where lower is better.
LOWER_IS_BETTER = frozenset({'box FPR95', 'loc FPR95'})
OW = ('base AP', 'base AR10', 'base AR100', 'novel AR10', 'novel AR100')
RBA = ('box AUROC', 'box AP', 'box FPR95', 'loc AUROC', 'loc AP', 'loc FPR95')
#: Training-log scalar reported as an extra column (Unknown Object Masking rows).
MASKED = 'masked / iter'


#: Metric names of the metafiles -> the bed's (ATSS and the policy-gradient detector report
#: COCO AP over every class; on the bed that is the AP of the classes it trains on, base AP).
_METAFILE_METRICS = {'box AP': 'base AP'}


@cache
def metafile_numbers(paper_row: str) -> Dict[str, float]:
    """A paper row's numbers from the metafiles (:func:`mmowp.utils.metafile.paper_numbers`)."""
    from mmowp.utils.metafile import paper_numbers
    numbers = paper_numbers(paper_row, root=ROOT)
    return {_METAFILE_METRICS.get(k, k): v for k, v in numbers.items()
            if _METAFILE_METRICS.get(k, k) in METRIC_KEYS}


@dataclass(frozen=True)
class Row:
    """One row of the bed.

    Args:
        table (str): Key of :data:`TABLES` the row belongs to.
        method (str): The row's name in the paper (or what it checks).
        config (str): Toy config file under ``configs/toy/``.
        paper_row (str, optional): The paper row (or the paper config) whose numbers the
            table shows next to the toy's, as the metafiles name it (see
            :func:`mmowp.utils.metafile.find_model`).
        depends (str, optional): Row whose final checkpoint (same seed) the row starts from.
        train (bool): False: evaluate the ``depends`` checkpoint without training.
        options (dict): Config overrides (``Config.merge_from_dict`` keys).
        extra (bool): A check beyond the papers' claims: left out of the default bed, run
            with ``--extra``, by name (``--rows``) or with its table (``--tables``).
    """
    table: str
    method: str
    config: str
    paper_row: Optional[str] = None
    depends: Optional[str] = None
    train: bool = True
    options: Dict[str, object] = field(default_factory=dict)
    extra: bool = False

    @property
    def paper(self) -> Dict[str, float]:
        """Metric -> the paper's number on its own benchmark (empty without a paper row)."""
        return metafile_numbers(self.paper_row) if self.paper_row else {}


#: Tables of the bed: key -> (title, metrics shown).
TABLES: Dict[str, Tuple[str, Tuple[str, ...]]] = OrderedDict([
    ('t1', ('FCOS-OWP Table 1 (COCO VOC -> non-VOC in the paper)', OW)),
    ('gap', ('Open-world gap: baseline vs an oracle trained on every class', OW)),
    ('t3', ('FCOS-OWP Table 3 (training recipes)', OW)),
    ('appb', ('FCOS-OWP Appendix B (All Sampling)', OW)),
    ('is', ('IoU Sampling (FCOS-OWP §3.2, Figure 3): hard negatives vs relabelling only', OW)),
    ('fig6', ('FCOS-OWP Figure 6 (Unknown Object Masking threshold / start)', OW + (MASKED, ))),
    ('atss', ('ATSS (Zhang et al., CVPR 2020) Tables 3-4', OW)),
    ('rba', ('RbA (Nayal et al., ICCV 2023): unknown (novel) vs known (base) objects',
             RBA + ('novel AR100', ))),
    ('pg', ('Policy-gradient detector (Rao et al., CVPR 2018) Table 1', OW)),
])

_MASK = 'model.bbox_head.loss_cls.'
#: Figure 6 thresholds on the toy. The paper's 0.95 / 0.925 never fire here: the trained toy
#: joint model (seed 0) predicts IoU > 0.95 at none of 18,175 training locations outside the
#: GT boxes of 64 images and > 0.925 at 3; > 0.9 at 24 (0.13 %) and > 0.85 at 207 (1.1 %).
#: High / low are those two: the masks are small, as the paper's.
MASK_THR_HIGH, MASK_THR_LOW = 0.9, 0.85
_TOPK = 'model.train_cfg.assigner.topk'
#: Every row of the bed, in table order. Paper numbers come from the metafiles: FCOS-OWP
#: Tables 1 and 3 (COCO), ATSS Tables 3-4 (AP on COCO minival), Rao et al. Table 1 (Faster
#: R-CNN with FPN, COCO minival).
ROWS: 'OrderedDict[str, Row]' = OrderedDict([
    ('baseline', Row('t1', 'Baseline logits * centerness', 'fcos_r18_fpn_1500it_owd-shapes.py',
                     'FCOS-OWP Table 1: Baseline logits * centerness')),
    ('centerness', Row('t1', 'OWP centerness', 'owp-fcos-centerness_r18_fpn_1500it_owd-shapes.py',
                       'FCOS-OWP Table 1: OWP centerness')),
    ('iou', Row('t1', 'OWP IOU', 'owp-fcos-iou_r18_fpn_1500it_owd-shapes.py',
                'FCOS-OWP Table 1: OWP IOU')),
    ('sqrt-centerness-iou', Row('t1', 'OWP sqrt(centerness * IOU)',
                                'owp-fcos-sqrt-centerness-iou_r18_fpn_1500it_owd-shapes.py',
                                'FCOS-OWP Table 1: OWP sqrt(centerness * IOU)')),
    ('iou-cs-is', Row('t1', 'OWP IOU-CS-IS', 'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py',
                      'FCOS-OWP Table 1: OWP IOU-CS-IS')),
    ('cond-iou-cs-is', Row('t1', 'OWP Conditional IOU-CS-IS',
                           'owp-fcos-cond-iou-cs-is_r18_fpn_1500it_owd-shapes.py',
                           'FCOS-OWP Table 1: OWP Conditional IOU-CS-IS')),
    ('finetune', Row('t1', 'OWP-aware logits * IOU-CS-IS (finetune)',
                     'owp-aware-fcos-iou-cs-is-finetune_r18_fpn_1500it_owd-shapes.py',
                     'FCOS-OWP Table 1: OWP-Aware logits * IOU-CS-IS (Finetune)',
                     depends='iou-cs-is')),
    ('joint', Row('t1', 'OWP-aware logits * IOU-CS-IS (joint)',
                  'owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py',
                  'FCOS-OWP Table 1: OWP-Aware logits * IOU-CS-IS (joint)')),
    ('joint-unknown', Row('t1', 'OWP-aware joint + unknown (masking 0.95 from 5k/90k)',
                          'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py',
                          'FCOS-OWP Table 1: OWP-Aware joint + unknown')),
    ('oracle', Row('gap', 'Oracle: baseline trained on every class (novel annotated)',
                   'fcos_r18_fpn_1500it_owd-shapes-all.py')),
    ('frozen', Row('t3', 'frozen', 'owp-aware-fcos-iou-cs-is-frozen_r18_fpn_1500it_owd-shapes.py',
                   'FCOS-OWP Table 3: frozen', depends='iou-cs-is')),
    ('joint-fb', Row('t3', 'joint fb (frozen backbone)',
                     'owp-aware-fcos-iou-cs-is-joint-fb_r18_fpn_1500it_owd-shapes.py',
                     'FCOS-OWP Table 3: joint fb')),
    ('frozen-fb', Row('t3', 'frozen fb',
                      'owp-aware-fcos-iou-cs-is-frozen-fb_r18_fpn_1500it_owd-shapes.py',
                      'FCOS-OWP Table 3: frozen fb', depends='iou-cs-is')),
    ('finetune-fb', Row('t3', 'finetune fb',
                        'owp-aware-fcos-iou-cs-is-finetune-fb_r18_fpn_1500it_owd-shapes.py',
                        'FCOS-OWP Table 3: finetune fb', depends='iou-cs-is')),
    ('all-sampling', Row('appb', 'IOU-CS-IS + All Sampling',
                         'owp-fcos-iou-cs-is-all-sampling_r18_fpn_1500it_owd-shapes.py',
                         'FCOS-OWP Appendix B: All Sampling')),
    ('iou-cs-is-relabel', Row('is', 'IOU-CS-IS, IoU Sampling relabels the positives only',
                              'owp-fcos-iou-cs-is_r18_fpn_1500it_owd-shapes.py',
                              options={'model.bbox_head.iou_sampling': 'relabel'},
                              extra=True)),
    ('mask-hi-early', Row('fig6', 'joint + masking, high threshold, early start',
                          'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py',
                          options={_MASK + 'thr': MASK_THR_HIGH, _MASK + 'start_iter': 83})),
    ('mask-hi-late', Row('fig6', 'joint + masking, high threshold, late start',
                         'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py',
                         options={_MASK + 'thr': MASK_THR_HIGH, _MASK + 'start_iter': 500})),
    ('mask-lo-early', Row('fig6', 'joint + masking, low threshold, early start',
                          'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py',
                          options={_MASK + 'thr': MASK_THR_LOW, _MASK + 'start_iter': 83})),
    ('mask-lo-late', Row('fig6', 'joint + masking, low threshold, late start',
                         'owp-aware-fcos-iou-cs-is-joint-unknown_r18_fpn_1500it_owd-shapes.py',
                         options={_MASK + 'thr': MASK_THR_LOW, _MASK + 'start_iter': 500})),
    ('fcos-imprv', Row('atss', 'FCOS (with the improvements)',
                       'fcos-imprv_r18_fpn_1500it_owd-shapes.py',
                       'ATSS Table 3: FCOS')),
    # The toy baseline is FCOS with the improvements and center sampling (radius 1.5): this
    # row's resolved config differs from the baseline's only in the head's class (ATSSFCOSHead
    # without an assigner = FCOSHead), so it evaluates the baseline's checkpoint instead of
    # training the same model again (3 x 4.5 CPU minutes; trained, it gave the same values).
    ('fcos-center', Row('atss', 'FCOS + center sampling',
                        'fcos-imprv-center_r18_fpn_1500it_owd-shapes.py',
                        'ATSS Table 3: FCOS + Center sampling', depends='baseline',
                        train=False)),
    ('fcos-atss', Row('atss', 'FCOS + ATSS (k = 9)', 'fcos-imprv-atss_r18_fpn_1500it_owd-shapes.py',
                      'ATSS Table 3: FCOS + ATSS')),
    ('atss-k3', Row('atss', 'FCOS + ATSS, k = 3', 'fcos-imprv-atss_r18_fpn_1500it_owd-shapes.py',
                    'ATSS Table 4: k = 3', options={_TOPK: 3})),
    ('atss-k15', Row('atss', 'FCOS + ATSS, k = 15', 'fcos-imprv-atss_r18_fpn_1500it_owd-shapes.py',
                     'ATSS Table 4: k = 15', options={_TOPK: 15})),
    ('iou-atss-is', Row('atss', 'OWP IOU-ATSS-IS (ATSS instead of center sampling)',
                        'owp-fcos-iou-atss-is_r18_fpn_1500it_owd-shapes.py', extra=True)),
    ('rba-score', Row('rba', 'RbA score (iou * rej) of the joint model, no fine-tuning',
                      'rba-score-owp-aware-fcos-iou-cs-is-joint_r18_fpn_1500it_owd-shapes.py',
                      depends='joint', train=False)),
    ('rba-finetune', Row('rba', 'RbA fine-tuning with pasted outliers (alpha 5)',
                         'rba-finetune-owp-aware-fcos-iou-cs-is-joint_r18_fpn_100it_owd-shapes.py',
                         depends='joint')),
    ('ft', Row('pg', 'baseline fine-tuned with its own losses (reference)',
               'fcos-finetune_r18_fpn_211it_owd-shapes.py', depends='baseline')),
    ('pg', Row('pg', 'baseline fine-tuned with the policy-gradient loss (gamma = 1)',
               'pg-fcos_r18_fpn_211it_owd-shapes.py',
               'pg-fcos_r50-caffe_fpn_12656it_coco-voc2nonvoc',
               depends='baseline')),
])


@dataclass(frozen=True)
class Claim:
    """A claim of a paper: ``row`` is better (+1) / worse (-1) / no different (0) than ``ref``.

    Better means a higher value, except for :data:`LOWER_IS_BETTER` metrics (FPR95).

    Args:
        row (str): Row key.
        ref (str): Reference row key.
        metric (str): Metric of the claim.
        expect (int): +1, -1 or 0 ("no difference").
        source (str): Where the paper says so.
    """
    row: str
    ref: str
    metric: str
    expect: int
    source: str


CLAIMS: Tuple[Claim, ...] = (
    Claim('iou', 'centerness', 'novel AR100', +1, 'FCOS-OWP Table 1: 28.31 vs 25.48'),
    Claim('sqrt-centerness-iou', 'centerness', 'novel AR100', +1,
          'FCOS-OWP Table 1: 28.10 vs 25.48'),
    Claim('iou-cs-is', 'iou', 'novel AR100', +1, 'FCOS-OWP Table 1: 30.19 vs 28.31'),
    Claim('iou-cs-is', 'centerness', 'novel AR100', +1,
          'FCOS-OWP §6: "these optimizations improve OWP"'),
    Claim('cond-iou-cs-is', 'iou-cs-is', 'novel AR100', +1, 'FCOS-OWP Table 1: 31.26 vs 30.19'),
    Claim('cond-iou-cs-is', 'centerness', 'novel AR100', +1,
          'FCOS-OWP Table 1 headline: 31.26 vs 25.48'),
    Claim('joint', 'baseline', 'base AP', +1, 'FCOS-OWP Table 1: 46.01 vs 44.21'),
    Claim('joint', 'iou-cs-is', 'novel AR100', -1,
          'FCOS-OWP Table 1: adding classification costs recall, 26.89 vs 30.19'),
    Claim('finetune', 'joint', 'novel AR100', +1, 'FCOS-OWP Table 1: 28.39 vs 26.89'),
    Claim('finetune', 'joint', 'base AP', 0, 'FCOS-OWP §5.2: finetune "matches joint AP"'),
    Claim('joint-unknown', 'joint', 'base AP', +1, 'FCOS-OWP Table 1: 46.21 vs 46.01'),
    Claim('joint-unknown', 'joint', 'novel AR100', +1, 'FCOS-OWP Table 1: 27.82 vs 26.89'),
    Claim('oracle', 'baseline', 'novel AR100', +1,
          'bed check: novel labels raise novel recall (the open-world gap exists)'),
    Claim('frozen', 'finetune', 'base AP', -1, 'FCOS-OWP Table 3: 38.24 vs 46.07'),
    Claim('joint-fb', 'joint', 'base AP', -1, 'FCOS-OWP Table 3: 25.31 vs 46.01'),
    Claim('frozen-fb', 'frozen', 'novel AR100', +1, 'FCOS-OWP Table 3: 30.19 vs 20.74'),
    Claim('finetune-fb', 'finetune', 'base AP', -1, 'FCOS-OWP Table 3: 38.96 vs 46.07'),
    Claim('finetune-fb', 'finetune', 'novel AR100', +1, 'FCOS-OWP Table 3: 29.68 vs 28.39'),
    Claim('all-sampling', 'iou-cs-is', 'novel AR100', 0,
          'FCOS-OWP App. B: AR100 "relatively the same", 30.18'),
    Claim('iou-cs-is', 'iou-cs-is-relabel', 'novel AR100', +1,
          'FCOS-OWP §3.2: the foreground hard negatives "supply more training samples" '
          '(the paper compares no relabel-only variant)'),
    Claim('mask-hi-early', 'joint', 'base AP', +1,
          'FCOS-OWP §5.2 / Fig. 6: threshold 0.95 from 5k benefits joint'),
    Claim('mask-hi-early', 'joint', 'novel AR100', +1,
          'FCOS-OWP §5.2 / Fig. 6: threshold 0.95 from 5k benefits joint'),
    Claim('fcos-center', 'fcos-imprv', 'base AP', +1, 'ATSS Table 3: 38.6 vs 37.8'),
    Claim('fcos-atss', 'fcos-center', 'base AP', +1, 'ATSS Table 3: 39.2 vs 38.6'),
    Claim('fcos-atss', 'fcos-imprv', 'base AP', +1, 'ATSS Table 3: 39.2 vs 37.8'),
    Claim('atss-k3', 'fcos-atss', 'base AP', -1, 'ATSS Table 4: k = 3 38.0 vs k = 9 39.3'),
    Claim('atss-k15', 'fcos-atss', 'base AP', 0, 'ATSS §4.1: insensitive to k in 7-17'),
    Claim('rba-finetune', 'rba-score', 'box AUROC', +1,
          'RbA Table 2: outlier supervision improves the RbA score'),
    Claim('rba-finetune', 'rba-score', 'box FPR95', +1,
          'RbA Table 2: outlier supervision lowers (improves) FPR95'),
    Claim('pg', 'ft', 'base AP', +1,
          'Rao et al. Table 1, Faster R-CNN with FPN: 39.5 vs 37.7 (standard training)'),
)


# ----------------------------------------------------------------- statistics (pure)
def mean_std(values: Sequence[Optional[float]]) -> Tuple[float, float, int]:
    """Mean and sample standard deviation (ddof 1) of the values that are not None.

    Returns:
        tuple: ``(mean, std, n)``; ``std`` is NaN when ``n < 2``, both NaN when ``n == 0``.
    """
    vals = [float(v) for v in values if v is not None and not math.isnan(v)]
    n = len(vals)
    if n == 0:
        return math.nan, math.nan, 0
    mean = sum(vals) / n
    if n < 2:
        return mean, math.nan, n
    var = sum((v - mean)**2 for v in vals) / (n - 1)
    return mean, math.sqrt(var), n


@dataclass
class PairedDiff:
    """Paired difference ``row - ref`` over the seeds both have a value for."""
    seeds: List[int]
    diffs: List[float]
    mean: float
    se: float

    @property
    def n(self) -> int:
        return len(self.diffs)


def paired_difference(row: Dict[int, Optional[float]],
                      ref: Dict[int, Optional[float]]) -> PairedDiff:
    """``d_s = row[s] - ref[s]`` for each seed with both values; mean and standard error.

    Args:
        row (dict): Seed -> value of the row.
        ref (dict): Seed -> value of the reference row.

    Returns:
        PairedDiff: ``se = sd(d) / sqrt(n)`` (NaN for n < 2).
    """
    seeds = sorted(s for s in row if s in ref and row[s] is not None and ref[s] is not None
                   and not math.isnan(row[s]) and not math.isnan(ref[s]))
    diffs = [float(row[s]) - float(ref[s]) for s in seeds]
    mean, std, n = mean_std(diffs)
    se = std / math.sqrt(n) if n >= 2 else math.nan
    return PairedDiff(seeds, diffs, mean, se)


def verdict(diff: PairedDiff, higher_is_better: bool = True, k: float = 2.0) -> str:
    """``'better'``, ``'worse'``, ``'within noise'`` or ``'n/a'`` (fewer than 2 seeds).

    Better: mean difference above ``k`` standard errors *and* the same sign in every seed
    (signs swapped when lower is better); worse: the mirror; else within noise.
    """
    if diff.n < 2:
        return 'n/a'
    sign = 1.0 if higher_is_better else -1.0
    mean, se = sign * diff.mean, diff.se
    ds = [sign * d for d in diff.diffs]
    if mean > k * se and all(d > 0 for d in ds):
        return 'better'
    if mean < -k * se and all(d < 0 for d in ds):
        return 'worse'
    return 'within noise'


def claim_verdict(toy: str, expect: int) -> str:
    """Compare the toy verdict with the paper's claim (+1 better, -1 worse, 0 no difference).

    Returns:
        str: ``'reproduced'``, ``'within noise'``, ``'not reproduced'`` or ``'n/a'``.
    """
    if toy == 'n/a':
        return 'n/a'
    if expect == 0:
        return 'reproduced' if toy == 'within noise' else 'not reproduced'
    if toy == 'within noise':
        return 'within noise'
    return 'reproduced' if toy == ('better' if expect > 0 else 'worse') else 'not reproduced'


def summarize(results: Dict[str, Dict[int, dict]],
              claims: Sequence[Claim] = CLAIMS) -> dict:
    """Aggregate per-seed results into per-row statistics and claim verdicts.

    Args:
        results (dict): Row -> seed -> result (``{'values': {metric: value}, 'cpu_s': ..}``).
        claims (Sequence[Claim]): The claims to judge (those whose rows are both present).

    Returns:
        dict: ``rows``: row -> metric -> ``(mean, std, n)`` and ``cpu_min``; ``claims``: list
        of dicts with the claim, the paired difference and both verdicts.
    """
    rows = OrderedDict()
    for name, per_seed in results.items():
        metrics = sorted({m for r in per_seed.values() for m in r['values']})
        stats = {m: mean_std([r['values'].get(m) for r in per_seed.values()]) for m in metrics}
        cpu = mean_std([r.get('cpu_s') for r in per_seed.values()])[0] / 60.0
        rows[name] = dict(stats=stats, cpu_min=cpu, seeds=sorted(per_seed))
    out_claims = []
    for c in claims:
        if c.row not in results or c.ref not in results:
            continue
        pd = paired_difference({s: r['values'].get(c.metric) for s, r in results[c.row].items()},
                               {s: r['values'].get(c.metric) for s, r in results[c.ref].items()})
        toy = verdict(pd, higher_is_better=c.metric not in LOWER_IS_BETTER)
        out_claims.append(dict(claim=c, diff=pd, toy=toy, verdict=claim_verdict(toy, c.expect)))
    return dict(rows=rows, claims=out_claims)


# ------------------------------------------------------------------------ formatting
def fmt_stat(stat: Optional[Tuple[float, float, int]], paper: Optional[float] = None) -> str:
    if stat is None or stat[2] == 0:
        cell = 'N/A'
    elif stat[2] == 1:
        cell = f'{stat[0]:.1f}'
    else:
        cell = f'{stat[0]:.1f} ± {stat[1]:.1f}'
    return cell if paper is None else f'{cell} ({paper:.1f})'


def markdown(summary: dict, header: str = '') -> str:
    """Markdown tables (one per bed table) and the claims table."""
    lines = [header] if header else []
    rows = summary['rows']
    for tkey, (title, metrics) in TABLES.items():
        names = [n for n in rows if ROWS.get(n, Row('', '', '')).table == tkey]
        if not names:
            continue
        lines += ['', f'### {title}', '',
                  '| row | method | ' + ' | '.join(f'{m} toy (paper)' for m in metrics) +
                  ' | seeds | CPU min / seed |',
                  '|---|---|' + '---:|' * len(metrics) + '---:|---:|']
        for n in names:
            row, st = ROWS[n], rows[n]
            cells = [fmt_stat(st['stats'].get(m), row.paper.get(m)) for m in metrics]
            lines.append(f'| {n} | {row.method} | ' + ' | '.join(cells) +
                         f' | {len(st["seeds"])} | {st["cpu_min"]:.1f} |')
    if summary['claims']:
        lines += ['', '### Claims', '',
                  '| row vs reference | metric | paper | toy difference, mean ± SE (per seed) '
                  '| toy | verdict |', '|---|---|---|---|---|---|']
        for c in summary['claims']:
            cl, pd = c['claim'], c['diff']
            expect = {1: 'better', -1: 'worse', 0: 'no difference'}[cl.expect]
            if pd.n == 0:
                diff = 'N/A'
            else:
                per = ', '.join(f'{d:+.1f}' for d in pd.diffs)
                se = '' if pd.n < 2 else f' ± {pd.se:.1f}'
                diff = f'{pd.mean:+.1f}{se} ({per})'
            lines.append(f'| {cl.row} vs {cl.ref} | {cl.metric} | {expect} ({cl.source}) | '
                         f'{diff} | {c["toy"]} | **{c["verdict"]}** |')
    return '\n'.join(lines) + '\n'


def error_bar_chart(summary: dict, path: str) -> None:
    """One panel per bed table: mean +- std over seeds of its metrics, per row."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    rows = summary['rows']
    panels = []
    for tkey, (title, metrics) in TABLES.items():
        names = [n for n in rows if ROWS.get(n, Row('', '', '')).table == tkey]
        shown = [m for m in metrics if m != MASKED and any(
            rows[n]['stats'].get(m, (0, 0, 0))[2] for n in names)]
        if names and shown:
            panels.append((title, names, shown))
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.3 * len(panels)), squeeze=False)
    for ax, (title, names, shown) in zip(axes[:, 0], panels):
        width = 0.8 / len(shown)
        top = 0.0
        for j, m in enumerate(shown):
            stats = [rows[n]['stats'].get(m, (math.nan, math.nan, 0)) for n in names]
            means = [s[0] if s[2] else 0.0 for s in stats]
            errs = [s[1] if s[2] > 1 else 0.0 for s in stats]
            xs = [i - 0.4 + width * (j + 0.5) for i in range(len(names))]
            ax.bar(xs, means, width=width, yerr=errs, capsize=2, label=m)
            top = max([top] + [a + b for a, b in zip(means, errs)])
        # headroom above the highest bar for the one-line legend
        ax.set_ylim(0, max(top, 1.0) * 1.25)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=20, ha='right', fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel('% (mean ± std over seeds)', fontsize=8)
        ax.grid(True, axis='y', alpha=0.3)
        ax.legend(fontsize=7, ncol=len(shown), loc='upper right')
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------ configs and runs
def build_cfg(name: str, seed: int, work_dir: str, data_root: str, iters_factor: float = 1.0,
              batch_size: Optional[int] = None, load_from: Optional[str] = None):
    """The resolved config of one (row, seed) run.

    Args:
        name (str): Row key.
        seed (int): Training seed.
        work_dir (str): The run's folder (logs, checkpoint, result).
        data_root (str): Generated dataset.
        iters_factor (float): Scale of every schedule (1: the configs' own).
        batch_size (int, optional): Training batch size override.
        load_from (str, optional): Checkpoint of the ``depends`` row.
    """
    from mmengine.config import Config

    from mmowp.utils.config import apply_data_root
    from mmowp.utils.schedule import scale_schedule
    row = ROWS[name]
    cfg = Config.fromfile(osp.join(TOY, row.config))
    if row.options:
        cfg.merge_from_dict(dict(row.options))
    apply_data_root(cfg, data_root)
    for t in cfg.train_dataloader.dataset.get('pipeline', []):
        if t.get('type') == 'OutlierPaste':
            t['data_root'] = cfg.data_root
    if iters_factor != 1.0:
        scale_schedule(cfg, max(1, int(round(cfg.train_cfg.max_iters * iters_factor))))
    iters = cfg.train_cfg.max_iters
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    cfg.randomness = dict(seed=seed, deterministic=False)
    # evaluate once, after training, on the val split (test_evaluator of the config)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.train_cfg.val_interval = iters + 1
    cfg.default_hooks.checkpoint.update(interval=iters, max_keep_ckpts=1, save_last=True,
                                        by_epoch=False)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=max(1, iters // 10))
    if row.depends and not load_from:
        raise ValueError(f'row {name!r} starts from the checkpoint of row {row.depends!r}')
    # volatile fields last (not part of the cache key)
    cfg.load_from = load_from
    cfg.work_dir = work_dir
    # one Visualizer (and its LocalVisBackend folder) per run: mmdet's runtime names it
    # 'visualizer', and MMEngine's ManagerMixin would hand the first run's instance, logging
    # into the first run's folder, to every later run of the same process
    cfg.visualizer.name = f'reproduce_toy:{name}:seed{seed}:{time.time_ns()}'
    return cfg


_VOLATILE = ('load_from', 'work_dir', 'visualizer')


def code_version(root: str = ROOT) -> str:
    """Hash of the package sources that can change a result (not the plotting code)."""
    h = hashlib.sha1()
    for path in sorted(glob.glob(osp.join(root, 'mmowp', '**', '*.py'), recursive=True)):
        rel = osp.relpath(path, root)
        if rel.startswith(osp.join('mmowp', 'visualization')):
            continue
        h.update(rel.encode())
        with open(path, 'rb') as f:
            h.update(f.read())
    import mmdet
    import mmengine
    import torch
    h.update(f'{mmdet.__version__} {mmengine.__version__} {torch.__version__}'.encode())
    return h.hexdigest()[:16]


def run_key(cfg, seed: int, code: str, data_meta: str, dep_key: Optional[str]) -> str:
    """Cache key of a run: resolved config (minus volatile fields), seed, code, data, parent."""
    d = {k: v for k, v in cfg.to_dict().items() if k not in _VOLATILE}
    blob = json.dumps(dict(cfg=d, seed=seed, code=code, data=data_meta, dep=dep_key),
                      sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def _cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def extract_values(metrics: Dict[str, float]) -> Dict[str, Optional[float]]:
    """Display metric -> value in % (None when the evaluator does not report it or it is < 0)."""
    out = {}
    for name, key in METRIC_KEYS.items():
        v = metrics.get(key)
        if v is None:  # single-evaluator runs may prefix differently: match the suffix
            suffix = key.split('/')[-1]
            v = next((m for k, m in metrics.items()
                      if k.split('/')[-1] == suffix and k.split('/')[0] in ('coco', key.split(
                          '/')[0])), None)
        if v is not None and not math.isnan(v) and v >= 0:
            out[name] = 100.0 * float(v)
    return out


def masked_per_iter(work_dir: str) -> Optional[float]:
    """Mean number of locations Unknown Object Masking ignored per logged iteration after its
    start (``train/num_unknown_masked`` in the run's ``vis_data/scalars.json``)."""
    vals = []
    for path in glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json')):
        with open(path) as f:
            for line in f:
                rec = json.loads(line)
                if 'num_unknown_masked' in rec:
                    vals.append(float(rec['num_unknown_masked']))
    vals = [v for v in vals if v > 0] or vals
    return sum(vals) / len(vals) if vals else None


def train_row(spec: dict) -> dict:
    """Train (unless the row is evaluation-only) and evaluate one (row, seed) in this process.

    Args:
        spec (dict): ``name``, ``seed``, ``work_dir``, ``data_root``, ``iters_factor``,
            ``batch_size``, ``load_from``, ``key``.

    Returns:
        dict: The result, also written to ``<work_dir>/result.json``.
    """
    from mmengine.runner import Runner

    import mmowp  # noqa: F401  (registration)
    name, seed, work_dir = spec['name'], spec['seed'], spec['work_dir']
    cfg = build_cfg(name, seed, work_dir, spec['data_root'], spec.get('iters_factor', 1.0),
                    spec.get('batch_size'), spec.get('load_from'))
    os.makedirs(work_dir, exist_ok=True)
    c0, t0 = _cpu_seconds(), time.time()
    runner = Runner.from_cfg(cfg)
    if ROWS[name].train:
        runner.train()
    c1 = _cpu_seconds()
    metrics = runner.test()
    values = extract_values(metrics)
    if ROWS[name].table == 'fig6':
        values[MASKED] = masked_per_iter(work_dir)
    ckpt = osp.join(work_dir, f'iter_{cfg.train_cfg.max_iters}.pth')
    out = dict(row=name, seed=seed, key=spec.get('key'), config=ROWS[name].config,
               values=values, train_cpu_s=round(c1 - c0, 1),
               cpu_s=round(_cpu_seconds() - c0, 1), wall_s=round(time.time() - t0, 1),
               checkpoint=ckpt if ROWS[name].train else spec.get('load_from'),
               iters=cfg.train_cfg.max_iters if ROWS[name].train else 0)
    with open(osp.join(work_dir, 'result.json'), 'w') as f:
        json.dump(out, f, indent=1)
    return out


# ------------------------------------------------------------------------ scheduling
def ensure_dataset(data_root: str, gen_seed: int = 0) -> str:
    """Generate the default dataset when missing; returns its ``meta.json`` text."""
    from mmowp.datasets.generate import GeneratorConfig, generate
    if not osp.isfile(osp.join(data_root, 'meta.json')):
        print(f'[reproduce_toy] generating the OWD-shapes dataset (seed {gen_seed}) into '
              f'{data_root}', flush=True)
        generate(data_root, GeneratorConfig(seed=gen_seed))
    with open(osp.join(data_root, 'meta.json')) as f:
        return f.read()


def selected_rows(rows: Optional[Sequence[str]], tables: Optional[Sequence[str]],
                  extra: bool = False) -> List[str]:
    """Selected rows plus the rows they start from, in :data:`ROWS` order.

    Args:
        rows (Sequence[str], optional): Row keys.
        tables (Sequence[str], optional): Table keys: every row of each (extra rows included).
        extra (bool): Add the :attr:`Row.extra` rows. Without ``rows`` and ``tables``: every
            row that is not extra (the default bed), plus the extra ones when True.
    """
    chosen = set(rows or [])
    if tables:
        chosen |= {n for n, r in ROWS.items() if r.table in tables}
    if not rows and not tables:
        chosen = {n for n, r in ROWS.items() if not r.extra}
    if extra:
        chosen |= {n for n, r in ROWS.items() if r.extra}
    todo = list(chosen)
    while todo:
        dep = ROWS[todo.pop()].depends
        if dep and dep not in chosen:
            chosen.add(dep)
            todo.append(dep)
    return [n for n in ROWS if n in chosen]


def run_all(names: Sequence[str], seeds: Sequence[int], args) -> Dict[str, Dict[int, dict]]:
    """Run (or read from the cache) every (row, seed); parents before children."""
    start = time.time()
    data_meta = ensure_dataset(args.data_root, args.gen_seed)
    code = code_version()
    factor = (args.iters / base_iters()) if args.iters else 1.0
    results: Dict[str, Dict[int, dict]] = OrderedDict((n, {}) for n in names)
    keys: Dict[Tuple[str, int], str] = {}
    pending = [(n, s) for s in seeds for n in names]
    total, done = len(pending), 0
    running: Dict[futures.Future, Tuple[str, int]] = {}
    jobs = max(1, args.jobs)
    pool = futures.ThreadPoolExecutor(max_workers=jobs) if args.jobs > 0 else None

    def spec_of(name, seed):
        dep = ROWS[name].depends
        load_from = results[dep][seed]['checkpoint'] if dep else None
        work_dir = osp.join(args.work_dir, name, f'seed{seed}')
        cfg = build_cfg(name, seed, work_dir, args.data_root, factor, args.batch_size,
                        load_from or ('<parent>' if dep else None))
        key = run_key(cfg, seed, code, data_meta, keys.get((dep, seed)) if dep else None)
        return dict(name=name, seed=seed, work_dir=work_dir, data_root=args.data_root,
                    iters_factor=factor, batch_size=args.batch_size, load_from=load_from,
                    key=key, threads=args.threads)

    def finish(name, seed, res, cached):
        nonlocal done
        done += 1
        results[name][seed] = res
        keys[(name, seed)] = res['key']
        print(progress_line(done, total, res, cached, time.time() - start), flush=True)

    while pending or running:
        progressed = False
        for task in list(pending):
            name, seed = task
            dep = ROWS[name].depends
            if dep and seed not in results[dep]:
                continue
            if pool is not None and len(running) >= jobs:
                break
            pending.remove(task)
            progressed = True
            spec = spec_of(name, seed)
            cached = _read_cache(spec)
            if cached is not None and not args.retrain:
                finish(name, seed, cached, True)
            elif pool is None:
                finish(name, seed, train_row(spec), False)
            else:
                running[pool.submit(_run_child, spec)] = task
        if running and not progressed:
            finished, _ = futures.wait(list(running), return_when=futures.FIRST_COMPLETED)
            for fut in finished:
                name, seed = running.pop(fut)
                finish(name, seed, fut.result(), False)
        elif not running and not progressed and pending:
            raise RuntimeError(f'cannot schedule {pending}: missing parent rows')
    if pool is not None:
        pool.shutdown()
    return results


def progress_line(done: int, total: int, res: dict, cached: bool, elapsed_s: float) -> str:
    """The line printed when a (row, seed) run ends: its values, its cost, the bed's time.

    Args:
        done (int): Runs finished so far, this one included.
        total (int): Runs of the bed.
        res (dict): The run's result (``row``, ``seed``, ``values``, ``cpu_s``, ``wall_s``).
        cached (bool): Read from the cache instead of run.
        elapsed_s (float): Wall time since the bed started.
    """
    shown = ', '.join(f'{m} {v:.1f}' for m, v in res['values'].items() if v is not None)
    how = 'cached' if cached else f'{res["cpu_s"]:.0f} s CPU, {res["wall_s"]:.0f} s wall'
    minutes = int(elapsed_s // 60)
    return (f'[reproduce_toy] ({done}/{total}, {minutes // 60}:{minutes % 60:02d} elapsed) '
            f'{res["row"]} seed {res["seed"]}: {shown} ({how})')


def _read_cache(spec: dict) -> Optional[dict]:
    path = osp.join(spec['work_dir'], 'result.json')
    if not osp.isfile(path):
        return None
    with open(path) as f:
        res = json.load(f)
    if res.get('key') != spec['key']:
        return None
    if ROWS[spec['name']].train and not osp.isfile(res.get('checkpoint', '')):
        return None
    return res


def _run_child(spec: dict) -> dict:
    """Run one (row, seed) in a child process (its own logs, visualizer and CPU count)."""
    os.makedirs(spec['work_dir'], exist_ok=True)
    spec_file = osp.join(spec['work_dir'], 'spec.json')
    with open(spec_file, 'w') as f:
        json.dump(spec, f)
    env = dict(os.environ, OMP_NUM_THREADS=str(spec['threads']),
               MKL_NUM_THREADS=str(spec['threads']))
    log = osp.join(spec['work_dir'], 'stdout.log')
    with open(log, 'w') as out:
        proc = subprocess.run([sys.executable, osp.abspath(__file__), '--worker', spec_file],
                              stdout=out, stderr=subprocess.STDOUT, env=env, cwd=os.getcwd())
    if proc.returncode != 0:
        with open(log) as f:
            tail = ''.join(f.readlines()[-30:])
        raise RuntimeError(f'row {spec["name"]} seed {spec["seed"]} failed (exit '
                           f'{proc.returncode}); log {log}:\n{tail}')
    with open(osp.join(spec['work_dir'], 'result.json')) as f:
        return json.load(f)


@cache
def base_iters() -> int:
    """The toy schedule's length (``configs/_base_/schedules/schedule_toy.py``); ``--iters N``
    scales every row's schedule by ``N / base_iters()``."""
    from mmengine.config import Config
    return Config.fromfile(osp.join(ROOT, 'configs', '_base_', 'schedules',
                                    'schedule_toy.py')).max_iters


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--rows', nargs='+', choices=list(ROWS),
                        help='rows (default: every row but the --extra ones)')
    parser.add_argument('--tables', nargs='+', choices=list(TABLES),
                        help='whole tables: ' + ', '.join(f'{k} = {v[0]}'
                                                          for k, v in TABLES.items()))
    parser.add_argument('--extra', action='store_true',
                        help='add the rows beyond the papers\' claims: ' + ', '.join(
                            n for n, r in ROWS.items() if r.extra))
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2],
                        help='training seeds (default: 0 1 2)')
    parser.add_argument('--data-root', default='data/owd_shapes',
                        help='generated dataset (created when missing)')
    parser.add_argument('--gen-seed', type=int, default=0,
                        help='generator seed when the dataset is created')
    parser.add_argument('--work-dir', default='work_dirs/reproduce_toy')
    parser.add_argument('--out', default=None,
                        help='markdown output (default: <work-dir>/bed.md; .png and .json '
                        'next to it)')
    parser.add_argument('--iters', type=int, default=None,
                        help='scale every schedule by ITERS / the toy schedule\'s length '
                        '(default: the configs\' own)')
    parser.add_argument('--batch-size', type=int, default=None, help='training batch size')
    parser.add_argument('--jobs', type=int, default=1,
                        help='rows trained at a time, each in a child process; 0: in this '
                        'process, one after another')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads per run (1: on a small or shared CPU, extra '
                        'OpenMP threads cost more than they give)')
    parser.add_argument('--retrain', action='store_true', help='ignore cached results')
    parser.add_argument('--worker', help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    import torch
    if args.worker:
        with open(args.worker) as f:
            spec = json.load(f)
        torch.set_num_threads(spec.get('threads', 1))
        train_row(spec)
        return
    torch.set_num_threads(args.threads)
    names = selected_rows(args.rows, args.tables, args.extra)
    t0 = time.time()
    results = run_all(names, args.seeds, args)
    summary = summarize(results)
    header = (f'Toy bed: OWD-shapes ({args.data_root}), seeds {" ".join(map(str, args.seeds))}; '
              'paper numbers in parentheses (their benchmarks, not the toy). Mean ± std over '
              'seeds; verdict rule in tools/reproduce_toy.py.')
    table = markdown(summary, header)
    out = args.out or osp.join(args.work_dir, 'bed.md')
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with open(out, 'w') as f:
        f.write(table)
    stem = osp.splitext(out)[0]
    error_bar_chart(summary, stem + '.png')
    with open(stem + '.json', 'w') as f:
        json.dump({n: {str(s): r for s, r in per.items()} for n, per in results.items()}, f,
                  indent=1)
    print('\n' + table)
    print(f'[reproduce_toy] wrote {out}, {stem}.png and {stem}.json '
          f'({time.time() - t0:.0f} s wall)')


if __name__ == '__main__':
    main()
