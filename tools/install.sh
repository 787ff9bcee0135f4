#!/usr/bin/env bash
# Install what shike-mm needs into the current Python environment (safe to
# run again). Use a virtual environment for isolation:
#     python3 -m venv .venv && . .venv/bin/activate
#
#   bash tools/install.sh               # the tested stack + the tests' needs
#   bash tools/install.sh --data        # ... plus Debian's Fashion-MNIST files
#   bash tools/install.sh --own-stack   # keep the torch / mm* already there:
#                                       # loose ranges, no lock
#
# By default every package is held to the version in requirements/lock.txt
# (pip constraints), the stack the tests and the documented figures were run
# on; a package already at that version is left alone. On x86-64 Linux the
# locked torch is PyPI's CUDA build (about 5.8 GB in the environment, runs
# on a CPU). For a CPU-only build, install it first from an index that has
# one, e.g. `pip install torch==2.14.1 torchvision==0.29.1 --index-url
# https://download.pytorch.org/whl/cpu`: its `2.14.1+cpu` satisfies the
# lock's `torch==2.14.1`, and the CUDA packages, being constraints only, are
# then not installed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
LOCK=(-c requirements/lock.txt)
DATA=0
for arg in "$@"; do
    case "$arg" in
        --data) DATA=1 ;;
        --own-stack) LOCK=() ;;
        *) echo "tools/install.sh: unknown argument '$arg'" \
                "(expected --data and/or --own-stack)" >&2; exit 2 ;;
    esac
done
PIP=("$PYTHON" -m pip install -q --disable-pip-version-check)

if [ ${#LOCK[@]} -gt 0 ]; then
    echo "[install] Python stack from requirements/lock.txt" \
         "(runtime.txt, tests.txt, mmcv.txt at their locked versions)"
else
    echo "[install] Python stack, loose ranges (runtime.txt, tests.txt)"
fi
"${PIP[@]}" ${LOCK[@]+"${LOCK[@]}"} \
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
    "${PIP[@]}" ${LOCK[@]+"${LOCK[@]}"} -r requirements/mmcv.txt
fi
"$PYTHON" - <<'PY'
import cv2, mmengine, mmpretrain, numpy, torch
print(f'[install] torch {torch.__version__}, mmengine {mmengine.__version__}, '
      f'mmpretrain {mmpretrain.__version__}, numpy {numpy.__version__}, '
      f'opencv {cv2.__version__}')
PY

# shike-mm itself, editable, in setuptools' compat mode: the repository root
# goes on sys.path (one .pth line), so the tools import this checkout's
# shike_mm and configs can name projects/ modules in custom_imports. No
# build isolation: the setuptools just installed builds it, offline.
echo "[install] shike-mm (editable: pip install -e . --no-deps)"
"${PIP[@]}" --no-deps --no-build-isolation \
    --config-settings editable_mode=compat -e .
"$PYTHON" - <<'PY'
import os.path as osp
import shike_mm
print(f'[install] shike_mm {shike_mm.__version__} from '
      f'{osp.dirname(osp.dirname(osp.abspath(shike_mm.__file__)))}')
PY

if [ "$DATA" = 1 ]; then
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
