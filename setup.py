"""Build script: metadata lives in setup.cfg.

Like mmdet's own setup.py, the build copies ``configs/`` and the training/testing
scripts of ``tools/`` into ``mmowp/.mim`` so that ``mim train mmowp <config>`` and
``mim test mmowp <config>`` find them inside the installed package.
"""
import os
import os.path as osp
import shutil

from setuptools import setup

ROOT = osp.dirname(osp.abspath(__file__))
MIM_FILES = ('configs', 'tools', 'model-index.yml')


def add_mim_extension() -> None:
    mim_dir = osp.join(ROOT, 'mmowp', '.mim')
    for name in MIM_FILES:
        src = osp.join(ROOT, name)
        dst = osp.join(mim_dir, name)
        if not osp.exists(src):
            continue
        if osp.islink(dst) or osp.isfile(dst):
            os.remove(dst)
        elif osp.isdir(dst):
            shutil.rmtree(dst)
        if osp.isfile(src):  # model-index.yml: read by mmengine (`mmowp::` paths), mim search
            os.makedirs(mim_dir, exist_ok=True)
            shutil.copyfile(src, dst)
            continue
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))


if __name__ == '__main__':
    add_mim_extension()
    setup()
