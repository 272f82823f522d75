#!/usr/bin/env bash
# Training on a Slurm cluster with MMEngine's slurm launcher, as mmdet's tools/slurm_train.sh:
#   [GPUS=8] [GPUS_PER_NODE=8] [CPUS_PER_TASK=5] [SRUN_ARGS="..."] \
#       bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# srun starts GPUS tasks (one per GPU, GPUS_PER_NODE per node); each runs tools/train.py with
# --launcher slurm, and MMEngine reads the rank / world size / master address from Slurm's
# environment (SLURM_PROCID, SLURM_NTASKS, SLURM_NODELIST). Run it with the environment that has
# mmowp installed active (`python` on PATH is used on every node). Example, 16 GPUs on 2 nodes:
#   GPUS=16 bash tools/slurm_train.sh gpu owp configs/owp/owp-fcos-iou-cs-is_r50-caffe_fpn_90k_coco-voc2nonvoc.py \
#       work_dirs/owp_iou-cs-is --cfg-options data_root=/data/coco/
set -x

PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}

# SRUN_ARGS is split into words on purpose (several srun options in one variable, as mmdet's)
# shellcheck disable=SC2086
PYTHONPATH="$(dirname "$0")/..":${PYTHONPATH:-} \
srun -p "${PARTITION}" \
    --job-name="${JOB_NAME}" \
    --gres=gpu:"${GPUS_PER_NODE}" \
    --ntasks="${GPUS}" \
    --ntasks-per-node="${GPUS_PER_NODE}" \
    --cpus-per-task="${CPUS_PER_TASK}" \
    --kill-on-bad-exit=1 \
    ${SRUN_ARGS} \
    python -u "$(dirname "$0")/train.py" "${CONFIG}" --work-dir="${WORK_DIR}" --launcher="slurm" "${@:5}"
