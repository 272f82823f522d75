#!/usr/bin/env bash
# Installs the whole mmowp stack into a virtual environment (default: ./.venv).
#
# The slow part is mmcv 2.1.0: it has no binary wheel for this torch, so its C++ ops are
# compiled from the sdist (about 14 minutes on 2 cores). The wheel is built once into
# $MMOWP_WHEEL_CACHE (default ~/.cache/mmowp/wheels) and reused by later installs (seconds).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
WHEELS="${MMOWP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmowp/wheels}"
PYTHON="${PYTHON:-python3}"
JOBS="${MAX_JOBS:-$(nproc)}"

log() { echo "[install] $(date +%H:%M:%S) $*"; }

if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check -q)

log "build requirements (torch, setuptools<81)"
"${PIP[@]}" -r "$ROOT/requirements/build.txt"

mkdir -p "$WHEELS"
if ! ls "$WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
    log "building mmcv 2.1.0 with ops into $WHEELS (one time, ~14 min on 2 cores)"
    MMCV_WITH_OPS=1 MAX_JOBS="$JOBS" "$VENV/bin/python" -m pip wheel --disable-pip-version-check \
        --no-deps --no-build-isolation -w "$WHEELS" mmcv==2.1.0
fi
log "installing mmcv from $(ls "$WHEELS"/mmcv-2.1.0-*.whl)"
"${PIP[@]}" "$(ls "$WHEELS"/mmcv-2.1.0-*.whl | head -n1)"

log "runtime, optional and test requirements"
"${PIP[@]}" -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/tests.txt"
# mim's imports first, then mim itself without its pinned tree: pip checks the installed
# set for conflicts after every install that resolves dependencies, and would print an
# "ERROR: ... openmim requires opendatalab" for a package mim does not import
"${PIP[@]}" -r "$ROOT/requirements/mim.txt"
"${PIP[@]}" --no-deps openmim==0.3.9

log "installing mmowp in develop mode (tools/develop.sh)"
bash "$ROOT/tools/develop.sh"
"$VENV/bin/python" -c "import mmcv.ops, mmdet, mmowp; print('mmowp', mmowp.__version__, 'mmdet', mmdet.__version__, 'mmcv', mmcv.__version__)"
log "done: activate with 'source $VENV/bin/activate'"
