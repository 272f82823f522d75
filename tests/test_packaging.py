"""Packaging: requirements from one source, the supported OpenMMLab ranges checked at import,
optional dependencies imported only where needed, the develop install mim sees."""
import ast
import configparser
import glob
import importlib.util
import os
import os.path as osp
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from mmowp.utils.optional import import_optional
from mmowp.version import check_openmmlab_versions, supported_versions

from .conftest import REPO_ROOT

OPTIONAL = ('lvis', 'sklearn', 'matplotlib')


def _setup_module():
    spec = importlib.util.spec_from_file_location('mmowp_setup', osp.join(REPO_ROOT, 'setup.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # setup() only runs under __main__
    return module


def _names(specs):
    return {Requirement(s).name for s in specs}


def test_requirements_have_one_source():
    setup = _setup_module()
    runtime = setup.parse_requirements('requirements/runtime.txt')
    mminstall = setup.parse_requirements('requirements/mminstall.txt')
    # install_requires = runtime.txt, which includes mminstall.txt (-r); ranges, not pins
    assert set(mminstall) <= set(runtime)
    stack = {Requirement(s).name: Requirement(s).specifier for s in mminstall}
    assert set(stack) == {'mmcv', 'mmdet', 'mmengine'}
    assert all(len(spec) == 2 and {s.operator for s in spec} == {'>=', '<'}
               for spec in stack.values())
    assert not _names(runtime) & {'lvis', 'scikit-learn', 'matplotlib'}
    extras = setup.extras_require()
    assert extras['lvis'] == ['lvis==0.5.3']
    assert _names(extras['scikit-learn']) == {'scikit-learn'}
    assert _names(extras['matplotlib']) == {'matplotlib'}
    assert _names(extras['optional']) == {'lvis', 'scikit-learn', 'matplotlib'}
    assert extras['mim'] == mminstall
    # setup.cfg no longer restates them
    cfg = configparser.ConfigParser()
    cfg.read(osp.join(REPO_ROOT, 'setup.cfg'))
    assert 'install_requires' not in cfg['options']
    assert not cfg.has_section('options.extras_require')


def test_version_check_names_the_supported_ranges():
    ranges = supported_versions()
    setup = _setup_module()
    assert ranges == {
        Requirement(s).name: ','.join(sorted(map(str, Requirement(s).specifier),
                                             key=lambda x: (x[0] != '>', x)))
        for s in setup.parse_requirements('requirements/mminstall.txt')}
    check_openmmlab_versions()  # this environment is supported
    ok = dict(mmcv='2.1.0', mmdet='3.3.0', mmengine='0.10.7')
    check_openmmlab_versions(ok)
    with pytest.raises(RuntimeError) as err:
        check_openmmlab_versions(dict(ok, mmcv='2.2.0', mmengine=None))
    msg = str(err.value)
    assert 'found mmcv 2.2.0, mmengine (not installed)' in msg
    for name, spec in ranges.items():
        assert f'{name}{spec}' in msg
    with pytest.raises(RuntimeError, match='found mmdet 3.4.0'):
        check_openmmlab_versions(dict(ok, mmdet='3.4.0'))


def _top_level_imports(path):
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


LIBRARY = [p for p in glob.glob(osp.join(REPO_ROOT, 'mmowp', '**', '*.py'), recursive=True)
           if '.mim' not in p.split(osp.sep)]


def test_optional_packages_are_imported_where_used_only():
    bad = [(osp.relpath(p, REPO_ROOT), m) for p in LIBRARY for m in _top_level_imports(p)
           if m.split('.')[0] in OPTIONAL]
    assert not bad
    # without them, mmowp imports and builds; the feature that needs one names its extra
    code = ("import sys\n"
            "for m in ('lvis', 'sklearn'):\n"
            "    sys.modules[m] = None  # an import of it fails\n"
            "import mmowp\n"
            "from mmowp.evaluation import UnknownDetectionMetric\n"
            "try:\n"
            "    UnknownDetectionMetric('ann.json')\n"
            "except ImportError as e:\n"
            "    print(e)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=REPO_ROOT, env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    assert out.returncode == 0, out.stderr[-2000:]
    assert 'UnknownDetectionMetric needs the optional package \'scikit-learn\': pip install ' \
           '"mmowp[scikit-learn]"' in out.stdout


def test_import_optional_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, 'lvis', None)
    with pytest.raises(ImportError, match=r'LVIS base AP needs .*"mmowp\[lvis\]"'):
        import_optional('lvis', 'LVIS base AP')
    assert import_optional('json', 'x').dumps([]) == '[]'


def test_no_matplotlib_backend_switch_or_pyplot_in_library_code():
    found = []
    for path in LIBRARY:
        for node in ast.walk(ast.parse(open(path).read())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == 'use' and getattr(node.func.value, 'id', '') in (
                        'matplotlib', 'mpl'):
                found.append((osp.relpath(path, REPO_ROOT), node.lineno))
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [
                    f'{node.module}.{a.name}' for a in node.names]
                found += [(osp.relpath(path, REPO_ROOT), node.lineno) for n in names
                          if n == 'matplotlib.pyplot']
    assert not found


def test_mim_extension_links_in_develop_mode_and_copies_for_wheels(tmp_path):
    setup = _setup_module()
    assert setup.mim_mode(['setup.py', 'develop', '--no-deps']) == 'symlink'
    assert setup.mim_mode(['setup.py', 'editable_wheel']) == 'symlink'
    assert setup.mim_mode(['setup.py', 'bdist_wheel']) == 'copy'
    assert setup.mim_mode(['setup.py', 'sdist']) == 'copy'
    assert setup.mim_mode(['setup.py', 'egg_info']) is None
    root = tmp_path / 'repo'
    (root / 'configs' / 'toy').mkdir(parents=True)
    (root / 'configs' / 'toy' / 'a.py').write_text('x = 1\n')
    (root / 'tools').mkdir()
    (root / 'tools' / 'train.py').write_text('# train\n')
    (root / 'model-index.yml').write_text('Import: []\n')
    (root / 'mmowp').mkdir()
    mim = root / 'mmowp' / '.mim'
    setup.add_mim_extension('symlink', str(root))
    for name in ('configs', 'tools', 'model-index.yml'):
        assert (mim / name).is_symlink() and (mim / name).resolve() == (root / name).resolve()
    assert not os.readlink(mim / 'configs').startswith('/')  # relative: the checkout can move
    # a wheel build after a develop install replaces the links, never deleting through them
    setup.add_mim_extension('copy', str(root))
    assert not (mim / 'configs').is_symlink() and (mim / 'configs' / 'toy' / 'a.py').is_file()
    assert (root / 'configs' / 'toy' / 'a.py').read_text() == 'x = 1\n'
    setup.add_mim_extension('symlink', str(root))
    assert (mim / 'configs').is_symlink() and (root / 'configs' / 'toy' / 'a.py').is_file()


def test_the_develop_install_is_what_mim_sees(tmp_path):
    """tools/install.sh (tools/develop.sh) installs the checkout in develop mode; mim and
    MMEngine's ``mmowp::`` lookup then read configs and tools from it, with no reinstall."""
    # as mim runs: another folder, no PYTHONPATH (pytest puts the checkout on sys.path)
    code = 'from mim.utils import get_installed_path; print(get_installed_path("mmowp"))'
    out = subprocess.run([sys.executable, '-I', '-W', 'ignore', '-c', code], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    where = out.stdout.strip().splitlines()[-1]
    assert osp.realpath(where) == osp.realpath(osp.join(REPO_ROOT, 'mmowp')), (
        f'mim sees mmowp at {where}, not this checkout: run bash tools/develop.sh')
    for name in ('configs', 'tools'):
        assert osp.realpath(osp.join(where, '.mim', name)) == osp.realpath(
            osp.join(REPO_ROOT, name))
