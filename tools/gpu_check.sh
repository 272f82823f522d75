#!/usr/bin/env bash
# GPU readiness check: is this stack ready to train the paper configs on a CUDA machine?
#   bash tools/gpu_check.sh [--skip-build] [benchmark_train.py args, e.g. --iters 50]
#
# 1. No NVIDIA GPU (nvidia-smi lists none, or CUDA_VISIBLE_DEVICES is set empty): says so and
#    exits 0 -- nothing to check on this machine.
# 2. torch must see the GPU (a CUDA build of torch in the environment).
# 3. mmcv must have its CUDA ops: if the installed mmcv was compiled without them (the CPU wheel
#    tools/install.sh builds on a machine without a GPU), mmcv 2.1.0 is compiled with
#    FORCE_CUDA=1 into its own wheel cache ($MMOWP_WHEEL_CACHE/cuda<version>, needs nvcc) and
#    reinstalled; then an mmcv CUDA op (nms) is run on the GPU. --skip-build skips the build.
# 4. Trains 100 iterations of the paper IoU-CS-IS config and of mmdet's stock FCOS
#    (fcos_r50-caffe_fpn_gn-head_1x_coco) on generated 800x1333 images, batch 2, each with and
#    without AMP (tools/analysis/benchmark_train.py); prints iterations/s, peak memory, their
#    ratios and whether every loss was finite. Exit 1 if a run fails or a loss is not finite.
# Results: work_dirs/gpu_check/summary.json (+ one run.log per run).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MMOWP_VENV:-$ROOT/.venv}"
if [ -n "${PYTHON:-}" ]; then
    PY="$PYTHON"
elif [ -x "$VENV/bin/python" ]; then
    PY="$VENV/bin/python"
else
    PY=python3
fi
WHEELS="${MMOWP_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mmowp/wheels}"
log() { echo "[gpu_check] $*"; }

SKIP_BUILD=0
ARGS=()
for a in "$@"; do
    if [ "$a" = "--skip-build" ]; then SKIP_BUILD=1; else ARGS+=("$a"); fi
done

if [ "${CUDA_VISIBLE_DEVICES+set}" = set ] && [ -z "${CUDA_VISIBLE_DEVICES}" ]; then
    log "no GPU to check: CUDA_VISIBLE_DEVICES is set empty. Nothing was run; run this script on a"
    log "machine with an NVIDIA GPU to check CUDA ops, AMP and training speed."
    exit 0
fi
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L 2>/dev/null | grep -q '^GPU'; then
    log "no GPU to check: no NVIDIA GPU found (nvidia-smi is missing or lists none). Nothing was"
    log "run; run this script on a machine with an NVIDIA GPU to check CUDA ops, AMP and speed."
    exit 0
fi
log "GPUs: $(nvidia-smi -L | tr '\n' ';')"
log "python: $PY"

if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    log "FAILED: nvidia-smi lists a GPU but torch in $PY cannot use it"
    log "(torch $("$PY" -c 'import torch; print(torch.__version__, "cuda", torch.version.cuda)')):"
    log "install a CUDA build of torch (requirements/build.txt pins the version), then rerun."
    exit 1
fi

mmcv_cuda() {
    "$PY" -c "from mmcv.ops import get_compiling_cuda_version as v; import sys; \
sys.exit(0 if v() not in ('not available', '') else 1)" 2>/dev/null
}
if ! mmcv_cuda; then
    if [ "$SKIP_BUILD" = 1 ]; then
        log "FAILED: the installed mmcv has no CUDA ops and --skip-build was given"
        exit 1
    fi
    TORCH_CUDA="$("$PY" -c 'import torch; print(torch.version.cuda)')"
    CUDA_WHEELS="$WHEELS/cuda$TORCH_CUDA"
    if ! ls "$CUDA_WHEELS"/mmcv-2.1.0-*.whl >/dev/null 2>&1; then
        if ! command -v nvcc >/dev/null 2>&1 && [ ! -x "${CUDA_HOME:-/usr/local/cuda}/bin/nvcc" ]; then
            log "FAILED: mmcv must be compiled with CUDA ops but nvcc is not found (install the CUDA"
            log "toolkit $TORCH_CUDA, or set CUDA_HOME)"
            exit 1
        fi
        log "building mmcv 2.1.0 with CUDA ops (torch CUDA $TORCH_CUDA) into $CUDA_WHEELS"
        mkdir -p "$CUDA_WHEELS"
        FORCE_CUDA=1 MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" "$PY" -m pip wheel \
            --disable-pip-version-check -q --no-deps --no-build-isolation -w "$CUDA_WHEELS" mmcv==2.1.0
    fi
    log "installing $(ls "$CUDA_WHEELS"/mmcv-2.1.0-*.whl | head -n1)"
    "$PY" -m pip install --disable-pip-version-check -q --no-deps --force-reinstall \
        "$(ls "$CUDA_WHEELS"/mmcv-2.1.0-*.whl | head -n1)"
fi
"$PY" - <<'EOF'
import torch
from mmcv.ops import get_compiling_cuda_version, nms
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.], [20., 20., 30., 30.]]).cuda()
_, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]).cuda(), 0.5)
assert keep.is_cuda and keep.tolist() == [0, 2], keep
print(f'[gpu_check] mmcv CUDA ops OK (compiled with CUDA {get_compiling_cuda_version()}, '
      f'torch {torch.__version__}, {torch.cuda.get_device_name(0)})')
EOF

cd "$ROOT"
"$PY" tools/analysis/benchmark_train.py \
    configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py \
    mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py \
    --device cuda --iters 100 --batch-size 2 --img-scale 1333 800 --amp off on \
    --work-dir work_dirs/gpu_check ${ARGS[@]+"${ARGS[@]}"}
