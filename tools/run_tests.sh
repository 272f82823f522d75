#!/usr/bin/env bash
# The test command of the README: lint + the test suite, in the project's virtual environment.
# Re-installs mmowp (non-editable, seconds) first so that `mim train/test mmowp` see this tree.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
cd "$ROOT"
if [ ! -x "$VENV/bin/python" ]; then
    echo "no virtual environment at $VENV: run 'bash tools/install.sh' first" >&2
    exit 1
fi
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps --no-build-isolation "$ROOT"
"$VENV/bin/ruff" check .
"$VENV/bin/python" -m pytest -q "$@"
