#!/usr/bin/env bash
# README command 2: install what is missing, then run the whole test suite.
#   bash tools/run_tests.sh [pytest arguments]   (-m unit: the quick tier)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh --data
# one pytest-xdist worker per core (PYTEST_WORKERS=0: in this process); a
# -n of the caller's wins
exec "${PYTHON:-python3}" -m pytest -n "${PYTEST_WORKERS:-auto}" "$@"  # setup.cfg testpaths: tests, projects/*/tests
