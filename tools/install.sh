#!/usr/bin/env bash
# Install what shike-mm needs into the current Python environment, skipping
# what is already there (safe to run again). Use a virtual environment first
# if you want isolation:  python3 -m venv .venv && . .venv/bin/activate
#
#   bash tools/install.sh            # Python stack + tests' needs
#   bash tools/install.sh --data     # ... plus Debian's Fashion-MNIST files
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

echo "[install] Python stack (requirements/runtime.txt, requirements/tests.txt)"
"$PYTHON" -m pip install -q --disable-pip-version-check \
    -r requirements/runtime.txt -r requirements/tests.txt

# Keep a user's full mmcv 2.x; install mmcv-lite only when no usable mmcv.
if "$PYTHON" - <<'PY'
import sys
try:
    import mmcv
except Exception:
    sys.exit(1)
major, minor = (int(x) for x in mmcv.__version__.split('.')[:2])
sys.exit(0 if (2, 0) <= (major, minor) < (2, 4) else 1)
PY
then
    echo "[install] mmcv $("$PYTHON" -c 'import mmcv; print(mmcv.__version__)') already present"
else
    echo "[install] mmcv-lite (requirements/mmcv.txt)"
    "$PYTHON" -m pip install -q --disable-pip-version-check -r requirements/mmcv.txt
fi

if [ "${1:-}" = "--data" ]; then
    FMNIST=/usr/share/datasets/fashion-mnist
    if [ -f "$FMNIST/train-images-idx3-ubyte.gz" ]; then
        echo "[install] Fashion-MNIST already in $FMNIST"
    elif command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
        echo "[install] Debian package dataset-fashion-mnist"
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dataset-fashion-mnist >/dev/null
    else
        echo "[install] cannot install dataset-fashion-mnist here (needs root and apt-get);" \
             "run: sudo apt-get install dataset-fashion-mnist" >&2
        exit 1
    fi
fi
