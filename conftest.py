# Copyright (c) shike-mm contributors. All rights reserved.
"""The test tiers, set from where a test file lives.

``tests/unit/``
    In-process tests of one component on tiny inputs; they start no
    tool or Python process (refused there, see
    :func:`_unit_tests_start_no_tool`). ``pytest -m unit`` (or
    ``-m "not slow"``) runs them in minutes.
``tests/integration/``
    Tests that run the tools (one-epoch runs, refusals that need a trained
    checkpoint; in-process through ``main(argv)`` with
    ``tests.helpers.inprocess_tools`` unless what is checked is the
    process itself: exit status, signals, locks, distributed runs of a few
    iterations), compile with Inductor, or build every shipped config's
    full-size model. A tool run in-process that trains nothing and takes
    under 2 s may be a unit test.
``tests/e2e/``
    Training runs of real configs through ``tools/train.py`` over both
    stages, resumes and kills.

Projects follow the same layout under ``projects/<name>/tests/``. Each
test gets the marker of its tier; ``slow`` marks every test outside
``unit``. A test file outside the three folders is an error.
"""
import subprocess
import sys
from pathlib import Path

import pytest

TIERS = ('unit', 'integration', 'e2e')
ROOT = Path(__file__).resolve().parent


def pytest_ignore_collect(collection_path, config):
    """Only files under a ``tests`` folder are test modules: tools and
    library modules named ``test_*.py`` (projects/sade's
    ``tools/test_time_aggregate.py``, ``sade/test_time_objective.py``) are
    not collected when a folder above them is given to pytest."""
    path = Path(collection_path).resolve()
    if path.suffix == '.py' and path.is_relative_to(ROOT) and \
            'tests' not in path.relative_to(ROOT).parts:
        return True
    return None


def tier_of(path: Path) -> str:
    """The tier folder a test file lives in (the first of :data:`TIERS`
    among its folders below the repository root).

    Raises:
        pytest.UsageError: If the file is in none of them.
    """
    parts = Path(path).resolve().relative_to(ROOT).parts[:-1]
    for part in parts:
        if part in TIERS:
            return part
    raise pytest.UsageError(
        f'{path}: a test file lives under a tests/unit/, '
        'tests/integration/ or tests/e2e/ folder (see conftest.py)')


def pytest_collection_modifyitems(config, items):
    for item in items:
        tier = tier_of(item.path)
        item.add_marker(getattr(pytest.mark, tier))
        if tier != 'unit':
            item.add_marker(pytest.mark.slow)


def _starts_a_tool(args) -> bool:
    """Whether ``Popen(args)`` starts Python, a shell script or a launcher
    (a tool of this repository or the test's own interpreter), as opposed
    to a probe that libraries run in-process (``gcc --version``, git)."""
    argv = [args] if isinstance(args, (str, bytes)) else list(args or [])
    if not argv:
        return False
    program = Path(str(argv[0])).name
    return program.startswith(('python', 'bash', 'sh', 'torchrun')) or \
        str(argv[0]) == sys.executable


@pytest.fixture(autouse=True)
def _unit_tests_start_no_tool(request, monkeypatch):
    """A unit test that starts a tool or a Python process fails, naming the
    command: such tests belong to tests/integration/ or tests/e2e/."""
    if request.node.get_closest_marker('unit') is None:
        yield
        return
    original = subprocess.Popen.__init__

    def checked(self, args, *rest, **kwargs):
        if _starts_a_tool(args):
            raise RuntimeError(
                f'{request.node.nodeid} started {args!r}; tests that start '
                'processes live in tests/integration/ or tests/e2e/ '
                '(conftest.py)')
        return original(self, args, *rest, **kwargs)

    monkeypatch.setattr(subprocess.Popen, '__init__', checked)
    yield
