#!/usr/bin/env bash
# Distributed training with torchrun, one process per GPU (or per CPU
# process group member on a machine without a GPU: gloo is chosen
# automatically by DeviceAwareRunner).
#
#   tools/dist_train.sh CONFIG NPROC [train.py args...]
#
# PYTHON selects the interpreter (default python3), as in the other tools.
#
# Multi-node: run on every node with the same MASTER_ADDR/PORT and NNODES,
# and NODE_RANK 0..NNODES-1:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 PORT=29500 tools/dist_train.sh CONFIG 8
set -euo pipefail
if [ "$#" -lt 2 ]; then
    echo "usage: $0 CONFIG NPROC_PER_NODE [tools/train.py arguments]" >&2
    exit 2
fi
CONFIG=$1
NPROC=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
HERE=$(cd "$(dirname "$0")" && pwd)
export PYTHONPATH="$(dirname "$HERE")${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" -m torch.distributed.run \
    --nnodes="$NNODES" \
    --node_rank="$NODE_RANK" \
    --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" \
    --nproc_per_node="$NPROC" \
    "$HERE/train.py" "$CONFIG" --launcher pytorch "$@"
