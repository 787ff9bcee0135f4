#!/usr/bin/env bash
# README command 2: install what is missing, then run the whole test suite.
#   bash tools/run_tests.sh [pytest arguments]   (-m unit: the quick tier)
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install.sh --data
# one pytest-xdist worker per core (PYTEST_WORKERS=0: in this process); a
# -n of the caller's wins. worksteal: a worker that runs out of tests takes
# some from the other's queue, so one long end-to-end run at the end does
# not leave the other cores idle
exec "${PYTHON:-python3}" -m pytest -n "${PYTEST_WORKERS:-auto}" --dist worksteal "$@"  # setup.cfg testpaths: tests, projects/*/tests
