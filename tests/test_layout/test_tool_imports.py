# Copyright (c) shike-mm contributors. All rights reserved.
"""Tools are entry points: they import the installed package, never edit
``sys.path`` and never import ``tests`` or one another; and a config under
``projects/`` that names its own module in ``custom_imports`` trains with
``python tools/train.py projects/...`` from the repository root."""
import ast
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.helpers.commands import REPO_ROOT, run_command

TOOLS = sorted((REPO_ROOT / 'tools').rglob('*.py'))
TOOL_NAMES = {p.stem for p in TOOLS}


def problems_of(path: Path):
    """What ``path`` does that a tool must not."""
    out = []
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        where = f'{path.relative_to(REPO_ROOT)}:{getattr(node, "lineno", 0)}'
        if (isinstance(node, ast.Attribute) and node.attr == 'path'
                and isinstance(node.value, ast.Name)
                and node.value.id == 'sys'):
            out.append(f'{where}: uses sys.path')
        elif isinstance(node, ast.Attribute) and node.attr == 'addsitedir':
            out.append(f'{where}: adds a site dir')
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = ['.' * node.level + (node.module or '')]
        for name in names:
            top = name.split('.')[0]
            if name.startswith('.'):
                out.append(f'{where}: relative import {name}')
            elif top in ('tests', 'tools'):
                out.append(f'{where}: imports {name}')
            elif top in TOOL_NAMES:
                out.append(f'{where}: imports the tool {name}')
    return out


def test_tools_import_only_installed_packages():
    assert len(TOOLS) >= 14
    problems = [p for path in TOOLS for p in problems_of(path)]
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('source, expected', [
    ('import sys\nsys.path.insert(0, "x")\n', 'uses sys.path'),
    ('from tests.plain_shike import f\n', 'imports tests.plain_shike'),
    ('from tools.benchmark import f\n', 'imports tools.benchmark'),
    ('import train\n', 'imports the tool train'),
    ('import shike_mm\nfrom shike_mm.analysis.cli import f\n', None),
])
def test_the_check_itself(tmp_path, source, expected):
    path = REPO_ROOT / 'tools' / f'_scratch_{uuid.uuid4().hex}.py'
    try:
        path.write_text(source)
        problems = problems_of(path)
    finally:
        path.unlink()
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems


def test_install_script_installs_the_checkout_editable():
    """tools/install.sh puts this checkout on sys.path (compat mode)."""
    script = (REPO_ROOT / 'tools' / 'install.sh').read_text()
    assert '--config-settings editable_mode=compat -e .' in script


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
