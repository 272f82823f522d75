"""``python -m mmowp.evaluate GT.json RESULTS.json --known ...`` (console script
``mmowp-evaluate``): numbers equal the pycocotools references of both protocols, the
outputs are written, bad files stop with named errors; no config, no model."""
import configparser
import copy
import importlib
import json
import math
import os
import os.path as osp
import re
import subprocess
import sys

import numpy as np
import pytest

from mmowp.evaluate import main
from mmowp.evaluation.coco_reference import reference_eval

from .conftest import REPO_ROOT

TOL = 1e-4


def _load(path):
    with open(path) as f:
        return json.load(f)


def _results(gt: dict, seed: int, per_img: int = 40, cat_ids=None) -> list:
    """COCO-format results: jittered GT boxes and random boxes, labels from ``cat_ids``."""
    rng = np.random.default_rng(seed)
    cat_ids = cat_ids or [c['id'] for c in gt['categories']]
    by_img: dict = {}
    for a in gt['annotations']:
        by_img.setdefault(a['image_id'], []).append(a['bbox'])
    out = []
    for im in gt['images']:
        own = by_img.get(im['id'], [])
        for _ in range(int(rng.integers(1, per_img))):
            if own and rng.random() < 0.6:
                x, y, w, h = own[rng.integers(len(own))]
                b = [x + rng.normal(0, 2), y + rng.normal(0, 2), w * rng.uniform(0.85, 1.15),
                     h * rng.uniform(0.85, 1.15)]
            else:
                b = [*rng.uniform(0, 100, 2), *rng.uniform(4, 50, 2)]
            out.append(dict(image_id=im['id'], category_id=int(rng.choice(cat_ids)),
                            bbox=[float(v) for v in b], score=float(np.round(rng.random(), 3))))
    return out


def _summ(ev, k, area='all'):
    p = ev.params
    s = ev.eval['recall'][:, :, p.areaRngLbl.index(area), list(p.maxDets).index(k)]
    s = s[s > -1]
    return float(np.mean(s)) if s.size else -1.0


def _write(path, data) -> str:
    with open(path, 'w') as f:
        json.dump(data, f)
    return str(path)


@pytest.fixture()
def files(tiny_owd, tmp_path):
    ann = osp.join(tiny_owd, 'annotations', 'instances_val.json')
    gt = _load(ann)
    base = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    res = _results(gt, seed=0, cat_ids=base)
    return ann, gt, _write(tmp_path / 'results.json', res), res


def test_cli_subprocess_both_protocols_equal_pycocotools(files, tmp_path):
    """The real command (another working directory, no config): the Table-1 rows of both
    protocols, AR by size, the json and the PNG; every recall equals pycocotools."""
    ann, gt, res_file, res = files
    env = dict(os.environ, PYTHONPATH=REPO_ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    out = subprocess.run([sys.executable, '-m', 'mmowp.evaluate', ann, res_file, '--known',
                          'owd_base', '--k', '1', '10', '100'], cwd=str(tmp_path), env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    rows = [line for line in text.splitlines()
            if '|' in line and line.split('|')[-1].strip() in ('oln', 'removed')]
    assert len(rows) == 4, text  # Table-1 row and AR-by-size row of each protocol
    header = next(line for line in text.splitlines() if line.strip().startswith('base AP'))
    assert [h.strip() for h in header.split('|')] == [
        'base AP', 'base AR1', 'base AR10', 'base AR100', 'novel AR1', 'novel AR10',
        'novel AR100', 'protocol']
    assert 'novel AR100_s' in text and 'AR by object size (k = 100)' in text
    out_dir = osp.splitext(res_file)[0] + '_open_world'
    saved = _load(osp.join(out_dir, 'open_world_metrics.json'))
    assert osp.getsize(osp.join(out_dir, 'ar_vs_proposals.png')) > 1000
    assert saved['results_file'] == res_file and saved['class_agnostic'] is False
    m = saved['metrics']
    base = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    novel = [c['id'] for c in gt['categories'] if c['split'] == 'novel']
    kw = dict(max_dets=(1, 10, 100))
    refs = {('', 'novel'): reference_eval(gt, res, split_cat_ids=base, **kw),
            ('', 'base'): reference_eval(gt, res, split_cat_ids=novel, **kw),
            ('removed_', 'novel'): reference_eval(gt, res, remove_cat_ids=base,
                                                  exclude_split_from_budget=False, **kw),
            ('removed_', 'base'): reference_eval(gt, res, remove_cat_ids=novel,
                                                 exclude_split_from_budget=False, **kw)}
    for (tag, split), ev in refs.items():
        for k in (1, 10, 100):
            assert m[f'{split}_{tag}AR@{k}'] == pytest.approx(_summ(ev, k), abs=TOL)
        for area, s in (('small', 's'), ('medium', 'm'), ('large', 'l')):
            assert m[f'{split}_{tag}AR_{s}@100'] == pytest.approx(_summ(ev, 100, area),
                                                                  abs=TOL)
    ap = reference_eval(gt, res, max_dets=(1, 10, 100), use_cats=True, cat_ids=base)
    prec = ap.eval['precision'][..., 0, -1]
    assert m['base_AP'] == pytest.approx(float(np.mean(prec[prec > -1])), abs=TOL)
    # the printed rows are these numbers
    oln_row = [v.strip() for v in rows[0].split('|')]
    assert oln_row[0] == f'{100 * m["base_AP"]:.2f}' and oln_row[-1] == 'oln'
    assert oln_row[-2] == f'{100 * m["novel_AR@100"]:.2f}'
    removed_row = [v.strip() for v in rows[1].split('|')]
    assert removed_row[2] == f'{100 * m["base_removed_AR@10"]:.2f}'
    assert removed_row[-1] == 'removed'


def test_cli_class_agnostic_auto_and_flag(files, tmp_path, capsys):
    ann, gt, _, res = files
    agn = [dict(r, category_id=1) for r in res]  # OLN-style: every box labelled 1
    path = _write(tmp_path / 'agn.json', agn)
    assert main([ann, path, '--known', 'owd_base', '--out-dir', str(tmp_path / 'o1')]) == 0
    text = capsys.readouterr().out
    assert 'class-agnostic (no base AP)' in text
    m = _load(str(tmp_path / 'o1' / 'open_world_metrics.json'))['metrics']
    assert m['base_AP'] == -1
    base = [c['id'] for c in gt['categories'] if c['split'] == 'base']
    ref = reference_eval(gt, agn, max_dets=(10, 100), split_cat_ids=base)
    assert m['novel_AR@100'] == pytest.approx(_summ(ref, 100), abs=TOL)
    # without category_id at all, the flag is needed and suffices
    bare = [{k: v for k, v in r.items() if k != 'category_id'} for r in res[:50]]
    path = _write(tmp_path / 'bare.json', bare)
    assert main([ann, path, '--known', 'owd_base', '--class-agnostic', '--out-dir',
                 str(tmp_path / 'o2'), '--no-progress']) == 0
    # a class-aware run of labels outside the ground truth is refused, naming the entry
    wrong = _write(tmp_path / 'wrong.json', [dict(r, category_id=999) for r in res[:5]])
    assert main([ann, wrong, '--known', 'owd_base', '--class-aware']) == 1
    assert 'entry #0 (image_id' in capsys.readouterr().err


BAD_RESULTS = {
    'unknown image': (lambda r: r[3].update(image_id=987654),
                      r'entry #3 \(image_id 987654\): image_id 987654 is not an image of the '
                      r'ground truth'),
    'no image_id': (lambda r: r[2].pop('image_id'), r"entry #2 has no 'image_id' key"),
    'string image_id': (lambda r: r[2].update(image_id='7'),
                        r'entry #2: "image_id" must be an integer'),
    'bbox of 3 numbers': (lambda r: r[1].update(bbox=[1, 2, 3]),
                          r'entry #1 \(image_id \d+\): "bbox" must be 4 finite numbers'),
    'NaN in bbox': (lambda r: r[1]['bbox'].__setitem__(2, math.nan),
                    r'entry #1 \(image_id \d+\): "bbox" must be 4 finite numbers'),
    'negative width': (lambda r: r[4]['bbox'].__setitem__(2, -3.0),
                       r'entry #4 \(image_id \d+\): "bbox" .* has a negative width'),
    'NaN score': (lambda r: r[0].update(score=math.nan),
                  r'entry #0 \(image_id \d+\): "score" must be a finite number'),
    'string score': (lambda r: r[0].update(score='0.5'), r'"score" must be a finite number'),
    'no score': (lambda r: r[0].pop('score'), r"entry #0 has no 'score' key"),
    'unknown category': (lambda r: r[6].update(category_id=999),
                         r'entry #6 \(image_id \d+\): category_id 999 is not a category'),
    'entry not an object': (lambda r: r.__setitem__(5, [1, 2]),
                            r'entry #5 is a list, not an object'),
}


@pytest.mark.parametrize('case', sorted(BAD_RESULTS))
def test_cli_bad_results(files, tmp_path, capsys, case):
    ann, _, _, res = files
    res = copy.deepcopy(res[:20])
    mutate, match = BAD_RESULTS[case]
    mutate(res)
    path = _write(tmp_path / 'bad.json', res)
    assert main([ann, path, '--known', 'owd_base', '--out-dir', str(tmp_path / 'o')]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f'error: {path}')
    assert re.search(match, err), err
    assert not osp.exists(tmp_path / 'o')  # nothing written


def test_cli_bad_files(files, tmp_path, capsys):
    ann, gt, res_file, _ = files
    assert main([ann, str(tmp_path / 'missing.json'), '--known', 'owd_base']) == 1
    assert 'results file' in capsys.readouterr().err
    not_list = _write(tmp_path / 'dict.json', dict(image_id=1))
    assert main([ann, not_list, '--known', 'owd_base']) == 1
    assert 'a results file is a list' in capsys.readouterr().err
    broken = tmp_path / 'broken.json'
    broken.write_text('[{"image_id": 1,')
    assert main([ann, str(broken), '--known', 'owd_base']) == 1
    assert 'not a valid json file' in capsys.readouterr().err
    # the ground truth is validated as the datasets do, errors named
    bad_gt = copy.deepcopy(gt)
    bad_gt['annotations'][0]['category_id'] = 4242
    bad = _write(tmp_path / 'bad_gt.json', bad_gt)
    assert main([bad, res_file, '--known', 'owd_base']) == 1
    err = capsys.readouterr().err
    assert f'{bad}: annotation {bad_gt["annotations"][0]["id"]} refers to category_id 4242' in err
    assert main([ann, res_file, '--known', 'vocc']) == 1
    assert "unknown split 'vocc'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: --known is required
        main([ann, res_file])


def test_cli_lvis_and_class_names(tiny_owd, tmp_path, capsys):
    ann = osp.join(tiny_owd, 'annotations', 'lvis_v1_val.json')
    gt = _load(ann)
    base = [c for c in gt['categories'] if c['split'] == 'base']
    res = _results(gt, seed=2, cat_ids=[c['id'] for c in base])
    path = _write(tmp_path / 'lvis_res.json', res)
    known = ','.join(c['name'] for c in base)
    assert main([ann, path, '--known', known, '--k', '300', '--out-dir', str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert 'novel AR300' in text and 'base AR300' in text
    m = _load(str(tmp_path / 'open_world_metrics.json'))['metrics']
    assert 'base_APr' in m  # the lvis API's federated AP
    ref = reference_eval(gt, res, max_dets=(300, ), split_cat_ids=[c['id'] for c in base])
    assert m['novel_AR@300'] == pytest.approx(_summ(ref, 300), abs=TOL)


def test_console_script_entry():
    cfg = configparser.ConfigParser()
    cfg.read(osp.join(REPO_ROOT, 'setup.cfg'))
    lines = cfg['options.entry_points']['console_scripts'].strip().splitlines()
    scripts = {k.strip(): v.strip() for k, v in (line.split('=', 1) for line in lines)}
    module, func = scripts['mmowp-evaluate'].split(':')
    assert getattr(importlib.import_module(module), func) is main
