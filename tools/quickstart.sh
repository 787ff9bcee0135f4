#!/usr/bin/env bash
# README command 1: install the locked stack and Debian's
# Fashion-MNIST, train SHIKE on Fashion-MNIST-LT (README: times per CPU
# kind), print overall / many / medium / few accuracy and the range the
# same config gave over eight seeds on the locked stack.
#   bash tools/quickstart.sh [extra tools/train.py arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
CONFIG=configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py
WORK_DIR=work_dirs/quickstart

bash tools/install.sh --data
echo "[quickstart] training $CONFIG -> $WORK_DIR"
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
"$PYTHON" tools/analysis_tools/print_lt_results.py "$WORK_DIR" \
    --expected tools/quickstart_expected.json
