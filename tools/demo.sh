#!/usr/bin/env bash
# The README's first command: installs everything (tools/install.sh), generates the
# embedded open-world dataset if missing, trains the toy config(s) on the CPU, evaluates
# them and prints where the results are.
#   bash tools/demo.sh [config ...]      (default: the toy baseline)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
cd "$ROOT"
bash tools/install.sh
PY="$VENV/bin/python"
DATA="${MMOWP_DATA:-data/owd_shapes}"
"$PY" -m mmowp.datasets.generate "$DATA"
CONFIGS=("$@")
if [ ${#CONFIGS[@]} -eq 0 ]; then
    CONFIGS=(configs/toy/fcos_toy_r18_owd-shapes.py)
fi
for cfg in "${CONFIGS[@]}"; do
    name="$(basename "$cfg" .py)"
    work="work_dirs/demo/$name"
    echo "[demo] training $cfg -> $work"
    "$PY" tools/train.py "$cfg" --work-dir "$work" --cfg-options data_root="$DATA/"
done
echo "[demo] results:"
for cfg in "${CONFIGS[@]}"; do
    name="$(basename "$cfg" .py)"
    echo "  $name: checkpoint and logs in work_dirs/demo/$name (metrics: */vis_data/scalars.json)"
done
