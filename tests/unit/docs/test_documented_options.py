# Copyright (c) shike-mm contributors. All rights reserved.
"""Every ``python tools/...py`` command printed in the README, docs/ and the
config and project READMEs uses only options its tool accepts, so an option
that is removed cannot stay documented. Each tool's ``--help`` is read
in-process through its ``main(argv)``, as the shell would run it."""
import contextlib
import io
import re
from functools import lru_cache

import pytest

from tests.helpers.commands import REPO_ROOT
from tests.helpers.tool_modules import load_script

PAGES = sorted(
    [REPO_ROOT / 'README.md'] + list((REPO_ROOT / 'docs').glob('*.md')) +
    list((REPO_ROOT / 'configs').glob('*/README.md')) +
    list((REPO_ROOT / 'projects').glob('*/README.md')))
COMMAND = re.compile(r'python3? ((?:tools|projects)/[\w/]+\.py)')
OPTION = re.compile(r'(?<![\w-])(--[a-z][\w-]*)')


def documented_commands():
    """(page, tool, options) for each command in a fenced block or inline
    code span; a command continues over lines ending in a backslash."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding='utf-8').replace('\\\n', ' ')
        for line in text.splitlines():
            for match in COMMAND.finditer(line):
                rest = line[match.end():]
                # an inline code span ends at the next backtick
                rest = rest.split('`')[0]
                options = sorted(set(OPTION.findall(rest)))
                found.append((page.relative_to(REPO_ROOT).as_posix(),
                               match[1], options))
    return found


@lru_cache(maxsize=None)
def help_text(tool):
    """What ``python TOOL --help`` prints, from ``main(['--help'])``."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        with pytest.raises(SystemExit) as stop:
            load_script(tool).main(['--help'])
    assert stop.value.code in (0, None), \
        f'{tool} --help failed:\n{out.getvalue()}'
    return out.getvalue()


def test_pages_document_commands():
    tools = {tool for _, tool, _ in documented_commands()}
    assert {'tools/train.py', 'tools/test.py', 'tools/benchmark.py',
            'tools/reference_train.py'} <= tools


@pytest.mark.parametrize(
    'tool', sorted({tool for _, tool, _ in documented_commands()}))
def test_documented_options_exist(tool):
    assert (REPO_ROOT / tool).is_file(), f'{tool} is documented but missing'
    accepted = set(OPTION.findall(help_text(tool)))
    wrong = [f'{page}: {tool} {option}'
             for page, name, options in documented_commands()
             if name == tool for option in options if option not in accepted]
    assert not wrong, 'options the tool does not accept:\n' + '\n'.join(wrong)
