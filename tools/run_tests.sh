#!/usr/bin/env bash
# README command 2: install what is missing, then run the whole test suite.
#   bash tools/run_tests.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh --data
exec "${PYTHON:-python3}" -m pytest "$@"  # setup.cfg testpaths: tests, projects/*/tests
