# Copyright (c) shike-mm contributors. All rights reserved.
"""Tools imported as modules, to call their functions (``main(argv)``,
``merge_args``, ...) in the test process instead of starting a process."""
import importlib.util
from pathlib import Path

from tests.helpers.commands import REPO_ROOT


def load_script(path) -> object:
    """Import the Python file ``path`` (relative to the repository root or
    absolute) as a fresh module named after it."""
    path = Path(path)
    if not path.is_absolute():
        path = REPO_ROOT / path
    name = '_tool_' + '_'.join(path.relative_to(REPO_ROOT).with_suffix('')
                               .parts)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_tool(name: str) -> object:
    """Import ``tools/analysis_tools/<name>.py``."""
    return load_script(Path('tools') / 'analysis_tools' / f'{name}.py')
