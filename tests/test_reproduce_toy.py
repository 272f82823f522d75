"""tools/reproduce_toy.py: seed aggregation, paired verdicts, caching and per-run logs."""
import glob
import json
import math
import os.path as osp

import pytest

from ._helpers import flat_config, load_tool

rt = load_tool('reproduce_toy.py', 'reproduce_toy')


def test_mean_std_is_the_sample_statistics():
    assert rt.mean_std([1.0, 2.0, 3.0]) == (2.0, 1.0, 3)
    mean, std, n = rt.mean_std([4.0, None, 8.0])
    assert (mean, n) == (6.0, 2) and std == pytest.approx(math.sqrt(8.0))
    mean, std, n = rt.mean_std([5.0])
    assert (mean, n) == (5.0, 1) and math.isnan(std)
    assert rt.mean_std([])[2] == 0


def test_paired_difference_uses_the_common_seeds_only():
    row = {0: 10.0, 1: 12.0, 2: 11.0, 3: 50.0}
    ref = {0: 8.0, 1: 9.0, 2: 10.0, 4: 0.0}
    pd = rt.paired_difference(row, ref)
    assert pd.seeds == [0, 1, 2] and pd.diffs == [2.0, 3.0, 1.0]
    assert pd.mean == 2.0
    assert pd.se == pytest.approx(1.0 / math.sqrt(3))  # sd of (2, 3, 1) is 1


@pytest.mark.parametrize('diffs,higher,expected', [
    ([2.0, 3.0, 1.0], True, 'better'),       # mean 2 > 2 * 0.577, all positive
    ([-2.0, -3.0, -1.0], True, 'worse'),
    ([-2.0, -3.0, -1.0], False, 'better'),   # lower is better (FPR95)
    ([3.0, -1.0, 4.0], True, 'within noise'),  # mean 2 < 2 * 1.53
    ([4.0, 4.0, 4.0, -0.1], True, 'within noise'),  # mean 2.98 > 2 * 1.02, a sign differs
    ([0.0, 0.0, 0.0], True, 'within noise'),
    ([1.0, 1.0, 1.0], True, 'better'),       # no spread at all: any consistent shift
    ([5.0], True, 'n/a'),                    # one seed: no verdict
])
def test_verdict_rule(diffs, higher, expected):
    row = {s: 50.0 + d for s, d in enumerate(diffs)}
    ref = {s: 50.0 for s in range(len(diffs))}
    assert rt.verdict(rt.paired_difference(row, ref), higher_is_better=higher) == expected


@pytest.mark.parametrize('toy,expect,expected', [
    ('better', 1, 'reproduced'), ('worse', -1, 'reproduced'),
    ('worse', 1, 'not reproduced'), ('better', -1, 'not reproduced'),
    ('within noise', 1, 'within noise'), ('within noise', -1, 'within noise'),
    ('within noise', 0, 'reproduced'), ('better', 0, 'not reproduced'),
    ('n/a', 1, 'n/a'), ('n/a', 0, 'n/a'),
])
def test_claim_verdict(toy, expect, expected):
    assert rt.claim_verdict(toy, expect) == expected


def _res(values, cpu=120.0):
    return dict(values=values, cpu_s=cpu)


def test_summarize_on_made_up_numbers():
    results = {
        'centerness': {0: _res({'novel AR100': 20.0}), 1: _res({'novel AR100': 22.0}),
                       2: _res({'novel AR100': 21.0})},
        'iou': {0: _res({'novel AR100': 23.0}), 1: _res({'novel AR100': 24.5}),
                2: _res({'novel AR100': 23.5})},
        'rba-score': {0: _res({'box FPR95': 40.0}), 1: _res({'box FPR95': 50.0})},
        'rba-finetune': {0: _res({'box FPR95': 35.0}), 1: _res({'box FPR95': 44.0})},
    }
    claims = (rt.Claim('iou', 'centerness', 'novel AR100', 1, 'made up'),
              rt.Claim('rba-finetune', 'rba-score', 'box FPR95', 1, 'made up'),
              rt.Claim('cond-iou-cs-is', 'iou', 'novel AR100', 1, 'row absent'))
    s = rt.summarize(results, claims)
    mean, std, n = s['rows']['iou']['stats']['novel AR100']
    assert n == 3 and mean == pytest.approx(23.666666, abs=1e-5)
    assert std == pytest.approx(math.sqrt(((0.6666667)**2 + (0.833333)**2 + (0.166667)**2) / 2),
                                abs=1e-5)
    assert s['rows']['iou']['cpu_min'] == pytest.approx(2.0)
    assert [c['claim'].row for c in s['claims']] == ['iou', 'rba-finetune']
    iou, rba = s['claims']
    assert iou['diff'].diffs == [3.0, 2.5, 2.5]
    assert (iou['toy'], iou['verdict']) == ('better', 'reproduced')
    # FPR95 lower is better: differences -5, -6 over two seeds, mean -5.5 vs SE 0.5
    assert rba['diff'].diffs == [-5.0, -6.0]
    assert (rba['toy'], rba['verdict']) == ('better', 'reproduced')
    md = rt.markdown(s)
    assert '| iou vs centerness | novel AR100 |' in md
    assert '+2.7 ± 0.2 (+3.0, +2.5, +2.5)' in md and '**reproduced**' in md
    assert '23.7 ± 0.8' in md


def test_every_claim_and_row_is_consistent():
    for name, row in rt.ROWS.items():
        assert row.table in rt.TABLES, name
        assert osp.isfile(osp.join(rt.TOY, row.config)), row.config
        assert row.depends is None or row.depends in rt.ROWS
        assert row.train or row.depends, f'{name}: an evaluation-only row needs a checkpoint'
    for c in rt.CLAIMS:
        assert c.row in rt.ROWS and c.ref in rt.ROWS and c.expect in (-1, 0, 1)
        assert c.metric in rt.METRIC_KEYS
    # selecting a fine-tuning row brings the row it starts from
    assert rt.selected_rows(['finetune'], None) == ['iou-cs-is', 'finetune']
    assert rt.selected_rows(None, ['rba']) == ['joint', 'rba-score', 'rba-finetune']


def test_default_bed_leaves_out_the_extra_rows_only():
    extras = {'iou-cs-is-relabel', 'iou-atss-is'}
    assert {n for n, r in rt.ROWS.items() if r.extra} == extras
    default = rt.selected_rows(None, None)
    assert set(default) == set(rt.ROWS) - extras
    assert rt.selected_rows(None, None, extra=True) == list(rt.ROWS)
    # a table brings its extra rows, --extra adds them to named rows
    assert 'iou-atss-is' in rt.selected_rows(None, ['atss'])
    assert rt.selected_rows(['centerness'], None, extra=True) == [
        'centerness', 'iou-cs-is-relabel', 'iou-atss-is']


def test_fcos_center_may_evaluate_the_baselines_model(tmp_path):
    # fcos-center does not train: it evaluates the baseline's checkpoint, which is only right
    # while both configs train the same model (ATSSFCOSHead without an assigner is FCOSHead:
    # tests/test_point_atss_assigner.py)
    row = rt.ROWS['fcos-center']
    assert (row.depends, row.train) == ('baseline', False)
    kw = dict(seed=0, work_dir=str(tmp_path), data_root='data/owd_shapes')
    base = flat_config(rt.build_cfg('baseline', **kw).to_dict())
    center = flat_config(rt.build_cfg('fcos-center', load_from='x.pth', **kw).to_dict())
    differ = {k for k in set(base) | set(center) if base.get(k) != center.get(k)}
    assert differ == {'model.bbox_head.type', 'load_from', 'visualizer.name'}
    assert center['model.bbox_head.type'] == 'ATSSFCOSHead'
    assert 'model.train_cfg.assigner' not in center


def test_chart_is_written_with_the_legend_above_the_bars(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt
    figures = []
    monkeypatch.setattr(plt, 'close', figures.append)
    results = {'centerness': {0: _res({'novel AR100': 20.0, 'base AR100': 80.0}),
                              1: _res({'novel AR100': 22.0, 'base AR100': 79.0})},
               'iou': {0: _res({'novel AR100': 21.0, 'base AR100': 81.0}),
                       1: _res({'novel AR100': 23.0, 'base AR100': 82.0})}}
    path = str(tmp_path / 'bed.png')
    rt.error_bar_chart(rt.summarize(results), path)
    assert osp.getsize(path) > 1000
    (ax, ), = [f.axes for f in figures]
    renderer = figures[0].canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    bars = [p.get_window_extent(renderer) for p in ax.patches]
    assert len(bars) == 4
    assert all(legend.y0 > b.y1 for b in bars)  # the tallest bar (81.5) stays below it


def test_progress_line_says_the_run_and_the_time_since_the_bed_started():
    res = dict(row='iou', seed=2, values={'novel AR100': 45.62, 'base AP': None}, cpu_s=301.4,
               wall_s=306.6)
    assert rt.progress_line(31, 81, res, False, 2 * 3600 + 5 * 60 + 59) == (
        '[reproduce_toy] (31/81, 2:05 elapsed) iou seed 2: novel AR100 45.6 '
        '(301 s CPU, 307 s wall)')
    assert rt.progress_line(1, 3, res, True, 59).endswith('novel AR100 45.6 (cached)')
    assert '(1/3, 0:00 elapsed)' in rt.progress_line(1, 3, res, True, 59)


def test_cache_key_follows_config_seed_code_and_parent(tiny_owd, tmp_path):
    def key(name='centerness', seed=0, code='c', data='d', dep=None, factor=1.0):
        cfg = rt.build_cfg(name, seed, str(tmp_path / 'w'), tiny_owd, factor)
        return rt.run_key(cfg, seed, code, data, dep)

    base = key()
    assert key() == base  # the visualizer name and work_dir are not part of the key
    assert len({base, key(seed=1), key(code='c2'), key(data='d2'), key(dep='p'),
                key(factor=0.5), key(name='iou')}) == 7


def test_each_run_owns_its_logs(tiny_owd, tmp_path):
    """Two rows trained in one process: each run's scalars.json holds its own losses.

    Before the fix the second runner re-used the first runner's Visualizer (mmdet names it
    'visualizer') and appended its loss_iou to the centerness row's vis_data/scalars.json.
    """
    factor = 2 / rt.base_iters()  # 2 iterations
    out = {}
    for name in ('centerness', 'cond-iou-cs-is'):
        spec = dict(name=name, seed=0, work_dir=str(tmp_path / name), data_root=tiny_owd,
                    iters_factor=factor, batch_size=2, load_from=None, key='k')
        res = rt.train_row(spec)
        assert res['iters'] == 2 and osp.isfile(res['checkpoint'])
        files = glob.glob(str(tmp_path / name / '*' / 'vis_data' / 'scalars.json'))
        assert len(files) == 1, files
        with open(files[0]) as f:
            out[name] = [json.loads(line) for line in f]
    train_keys = {name: set().union(*[r for r in recs if 'loss' in r]) for name, recs in
                  out.items()}
    assert 'loss_centerness' in train_keys['centerness']
    assert 'loss_iou' not in train_keys['centerness']
    assert 'loss_iou' in train_keys['cond-iou-cs-is']
    assert 'loss_centerness' not in train_keys['cond-iou-cs-is']


def test_every_paper_row_of_the_bed_is_in_the_metafiles():
    """The bed shows the metafiles' numbers (one place for them), under the bed's names."""
    with_numbers = {n: r.paper for n, r in rt.ROWS.items() if r.paper_row}
    assert all(with_numbers.values()), [n for n, p in with_numbers.items() if not p]
    # spot checks against the papers' text: FCOS-OWP Table 1 / Table 3, ATSS Table 3,
    # the policy-gradient detector's Table 1 (Faster R-CNN with FPN, gamma = 1)
    assert with_numbers['iou-cs-is']['novel AR100'] == 30.19
    assert with_numbers['frozen-fb']['novel AR10'] == 13.08
    assert with_numbers['fcos-atss'] == {'base AP': 39.2}
    assert with_numbers['pg'] == {'base AP': 39.5}


def test_claims_agree_with_the_paper_numbers_they_compare():
    """A claim 'row better than ref' has the sign of the two rows' paper numbers."""
    checked = 0
    for claim in rt.CLAIMS:
        row, ref = rt.ROWS[claim.row].paper, rt.ROWS[claim.ref].paper
        if claim.expect == 0 or claim.metric not in row or claim.metric not in ref:
            continue
        sign = 1 if row[claim.metric] > ref[claim.metric] else -1
        if claim.metric in rt.LOWER_IS_BETTER:
            sign = -sign
        assert sign == claim.expect, claim
        checked += 1
    assert checked >= 12
