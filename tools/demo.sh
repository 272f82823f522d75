#!/usr/bin/env bash
# The README's first command: installs everything (tools/install.sh), generates the embedded
# open-world dataset if missing, trains the headline pair of seed 000 Table 1 on the CPU
# (OWP "centerness" vs "Conditional IOU-CS-IS"), evaluates both with the open-world metric and
# prints a Table-1-shaped table and where the results are (work_dirs/demo/).
#   bash tools/demo.sh                      # the headline pair (~4 min on an idle 2-core CPU)
#   bash tools/demo.sh --rows baseline ...  # other rows; any tools/reproduce_toy.py option
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
cd "$ROOT"
bash tools/install.sh
ARGS=("$@")
if [ ${#ARGS[@]} -eq 0 ]; then
    ARGS=(--rows centerness cond-iou-cs-is)
fi
"$VENV/bin/python" tools/reproduce_toy.py --data-root "${MMOWP_DATA:-data/owd_shapes}" \
    --work-dir work_dirs/demo "${ARGS[@]}"
echo "[demo] table: work_dirs/demo/table1_toy.md (+ .png); per-row checkpoints, logs, metrics"
echo "[demo] json and AR-vs-proposals plots: work_dirs/demo/<row>/"
