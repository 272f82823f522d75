#!/usr/bin/env bash
# The README's first command: installs everything (tools/install.sh), generates the embedded
# open-world dataset if missing (~1 min), trains the headline pair of FCOS-OWP Table 1 on the
# CPU (OWP "centerness" vs "Conditional IOU-CS-IS"), one training seed, both rows at once
# (--jobs 2, one thread each), evaluates them with the open-world metric and prints the table
# and where the results are (work_dirs/demo/). ~6 min on an idle 2-core CPU after the
# one-time mmcv build. One seed gives no verdict: the 3-seed bed is
#   python tools/reproduce_toy.py --jobs 2            (README, toy section)
#   bash tools/demo.sh                      # the headline pair, seed 0
#   bash tools/demo.sh --rows baseline ...  # other rows; any tools/reproduce_toy.py option
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
cd "$ROOT"
bash tools/install.sh
ARGS=("$@")
if [ ${#ARGS[@]} -eq 0 ]; then
    ARGS=(--rows centerness cond-iou-cs-is --seeds 0 --jobs 2)
fi
"$VENV/bin/python" tools/reproduce_toy.py --data-root "${MMOWP_DATA:-data/owd_shapes}" \
    --work-dir work_dirs/demo "${ARGS[@]}"
echo "[demo] table: work_dirs/demo/bed.md (+ .png, .json); per run (checkpoint, logs, metrics):"
echo "[demo] work_dirs/demo/<row>/seed<s>/"
