"""Every file the README names exists: configs, tools, benchmarks, docs and library modules."""
import os.path as osp
import re

from .conftest import REPO_ROOT

# a path in the repository: configs/..., tools/..., benchmarks/..., docs/..., mmowp/....py
_PATH = re.compile(r'(?<![\w./:-])((?:configs|tools|benchmarks|docs|mmowp)/[\w./-]*[\w/])')


def _named_paths(text: str):
    for match in _PATH.finditer(text):
        path = match.group(1)
        rest = text[match.end():match.end() + 1]
        if rest and rest in '-{*':  # a pattern (configs/toy/rba-*, {a,b}), not a path
            continue
        if path.startswith('mmowp/') and not path.endswith('.py'):
            continue  # mmowp/... without .py names a module folder or an import path
        yield path


#: Files the README asks the user to write.
USER_FILES = {'configs/my_ablations/owp-fcos-iou-cs-is05_r50-caffe_fpn_90k_coco-voc2nonvoc.py'}


def test_every_path_in_the_readme_exists():
    with open(osp.join(REPO_ROOT, 'README.md'), encoding='utf-8') as f:
        text = f.read()
    paths = sorted(set(_named_paths(text)) - USER_FILES)
    assert len(paths) > 50  # the README names many files: the pattern finds them
    missing = [p for p in paths if not osp.exists(osp.join(REPO_ROOT, p.rstrip('/')))]
    assert not missing, f'README.md names files that do not exist: {missing}'
