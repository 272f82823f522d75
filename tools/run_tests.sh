#!/usr/bin/env bash
# The test command of the README: lint + the test suite, in the project's virtual environment.
# mmowp is installed in develop mode (tools/install.sh): mim and the tests see this tree as
# it is, with no reinstall. Only when something replaced that install or its links (e.g.
# `pip install .`) is it made again (tools/develop.sh, seconds).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
cd "$ROOT"
if [ ! -x "$VENV/bin/python" ]; then
    echo "no virtual environment at $VENV: run 'bash tools/install.sh' first" >&2
    exit 1
fi
# -I: neither the current folder nor PYTHONPATH may make the check see this tree
if ! "$VENV/bin/python" -I - "$ROOT" <<'EOF'
import os.path as osp
import sys
from importlib.metadata import PackageNotFoundError, distribution

try:
    where = distribution('mmowp').locate_file('mmowp')
except PackageNotFoundError:
    sys.exit(1)
package = osp.join(sys.argv[1], 'mmowp')
# a wheel built since (pip install ., pip wheel .) replaced the links in .mim with copies
sys.exit(osp.realpath(where) != osp.realpath(package)
         or not osp.islink(osp.join(package, '.mim', 'configs')))
EOF
then
    echo "mmowp is not installed in develop mode from $ROOT: running tools/develop.sh" >&2
    bash "$ROOT/tools/develop.sh"
fi
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest -q "$@"
