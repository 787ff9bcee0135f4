# Copyright (c) shike-mm contributors. All rights reserved.
"""Tools are entry points: they import the installed package, never edit
``sys.path`` and never import ``tests`` or one another; and a config under
``projects/`` that names its own module in ``custom_imports`` trains with
``python tools/train.py projects/...`` from the repository root. The cases
that start a process or compile are in
tests/integration/layout/test_tool_imports.py."""
import ast
import uuid
from pathlib import Path

import pytest

from tests.helpers.commands import REPO_ROOT

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


def test_every_tool_main_takes_argv():
    """Each tool's ``main(argv=None)`` parses ``argv`` (the command line
    when None), so tests and scripts call a tool in-process the way the
    shell does (tests/integration/docs/test_documented_options.py reads
    each tool's --help that way)."""
    missing = []
    for path in TOOLS + sorted(REPO_ROOT.glob('projects/*/tools/*.py')):
        tree = ast.parse(path.read_text(), str(path))
        mains = [n for n in tree.body
                 if isinstance(n, ast.FunctionDef) and n.name == 'main']
        args = mains[0].args if mains else None
        if not (args and args.args and args.args[0].arg == 'argv'
                and len(args.defaults) == len(args.args)
                and isinstance(args.defaults[0], ast.Constant)
                and args.defaults[0].value is None):
            missing.append(str(path.relative_to(REPO_ROOT)))
    assert not missing, 'no main(argv=None): ' + ', '.join(missing)
