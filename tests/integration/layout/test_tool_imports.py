# Copyright (c) shike-mm contributors. All rights reserved.
"""Tools are entry points: they import the installed package, never edit
``sys.path`` and never import ``tests`` or one another; and a config under
``projects/`` that names its own module in ``custom_imports`` trains with
``python tools/train.py projects/...`` from the repository root. Here the
cases that start a process or compile; the in-process ones are in
tests/unit/layout/test_tool_imports.py."""
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers.commands import REPO_ROOT, run_command


@pytest.fixture
def dummy_project():
    """A one-module project under ``projects/`` with a config naming it
    in ``custom_imports``; the module prints where it and ``shike_mm``
    were imported from, then stops the run."""
    name = f'_test_{uuid.uuid4().hex[:8]}'
    projects = REPO_ROOT / 'projects'
    created = not projects.exists()
    folder = projects / name
    (folder / 'configs').mkdir(parents=True)
    (folder / 'dummy.py').write_text(
        'import shike_mm\n'
        "print('DUMMY', __name__, shike_mm.__file__, flush=True)\n"
        'raise SystemExit(0)\n')
    (folder / 'configs' / 'dummy.py').write_text(
        f"custom_imports = dict(imports=['projects.{name}.dummy'], "
        'allow_failed_imports=False)\n')
    try:
        yield name
    finally:
        shutil.rmtree(projects if created else folder)


def _expect_dummy(proc, name):
    assert proc.returncode == 0, proc.stdout[-3000:]
    line = next(line for line in proc.stdout.splitlines()
                if line.startswith('DUMMY '))
    _, module, shike_file = line.split()
    assert module == f'projects.{name}.dummy'
    assert Path(shike_file).resolve().is_relative_to(REPO_ROOT / 'shike_mm')


def test_project_config_trains_from_the_repo_root(dummy_project, tmp_path):
    """With the repository root on sys.path, as the test harness (and the
    editable install) puts it."""
    proc = run_command([
        sys.executable, 'tools/train.py',
        f'projects/{dummy_project}/configs/dummy.py', '--work-dir',
        tmp_path
    ])
    _expect_dummy(proc, dummy_project)


def test_project_config_with_the_installed_package(dummy_project, tmp_path):
    """Without PYTHONPATH: the editable install of tools/install.sh alone
    (skipped where shike_mm is not installed from this checkout)."""
    env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
    found = subprocess.run(
        [sys.executable, '-c', 'import shike_mm; print(shike_mm.__file__)'],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    installed = Path(found.stdout.strip() or '/').resolve()
    if found.returncode or not installed.is_relative_to(REPO_ROOT):
        pytest.skip('shike_mm is not installed from this checkout '
                    '(bash tools/install.sh installs it)')
    proc = subprocess.run(
        [sys.executable, 'tools/train.py',
         f'projects/{dummy_project}/configs/dummy.py', '--work-dir',
         str(tmp_path)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, timeout=300)
    _expect_dummy(proc, dummy_project)
