#!/usr/bin/env bash
# Installs this checkout in develop mode (editable) into the virtual environment: an
# egg-link to this folder, the console scripts, and mmowp/.mim holding links to configs/,
# tools/ and model-index.yml (setup.py). Edits to the package, configs and tools need no
# reinstall, and `mim train/test mmowp` and `_base_ = 'mmowp::...'` find mmowp/.mim at the
# distribution's location, this checkout. (pip's editable installs since PEP 660 keep that
# location in site-packages, where mim looks for mmowp/.mim in vain; hence `setup.py develop`
# with setuptools < 80, see requirements/build.txt.) Takes seconds.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
PY="$VENV/bin/python"
# a copy installed by `pip install .` would shadow the checkout on sys.path
if "$PY" -m pip show -q mmowp >/dev/null 2>&1; then
    "$PY" -m pip uninstall --disable-pip-version-check -q -y mmowp
fi
cd "$ROOT"
"$PY" -W "ignore:easy_install command is deprecated" -W "ignore:setup.py install is deprecated" \
    setup.py -q develop --no-deps
