# Copyright (c) shike-mm contributors. All rights reserved.
"""The import layering of the package (docs/design.md, "Layers"): every
module imports only from its own unit or a lower layer, and the L1
packages never import each other."""
import ast
from pathlib import Path
from typing import Iterator, Optional, Tuple

import pytest

from tests.helpers.commands import REPO_ROOT

PACKAGE = REPO_ROOT / 'shike_mm'

#: unit -> layer. The units of one layer may import each other only where
#: :data:`SIBLINGS_ALLOWED` says so.
LAYERS = {
    'shike_mm.protocols': 0,
    'shike_mm.structures': 0,
    'shike_mm.utils': 0,
    'shike_mm.version': 0,
    'shike_mm.datasets': 1,
    'shike_mm.models': 1,
    'shike_mm.evaluation': 1,
    'shike_mm.engine': 2,
    'shike_mm.analysis': 3,
    'shike_mm.testing': 3,
    'shike_mm.apis': 3,
    # ``import shike_mm`` registers every component of L0-L2
    'shike_mm': 3,
}
#: Within L0 the generic helpers may use the protocols and the values
#: (protocols.py itself imports nothing of shike_mm); within L3 the
#: libraries may use each other. L1 packages never import each other.
SIBLINGS_ALLOWED = {0: True, 1: False, 2: True, 3: True}


def module_name(path: Path, root: Path = REPO_ROOT) -> str:
    """The dotted name of the module at ``path`` under ``root``."""
    parts = list(path.relative_to(root).with_suffix('').parts)
    if parts[-1] == '__init__':
        parts.pop()
    return '.'.join(parts)


def unit_of(name: str) -> Optional[str]:
    """The layered unit of a ``shike_mm`` module name (the longest key of
    :data:`LAYERS` that is the name or a parent of it)."""
    parts = name.split('.')
    for n in range(len(parts), 0, -1):
        prefix = '.'.join(parts[:n])
        if prefix in LAYERS:
            return prefix
    return None


def shike_imports(path: Path,
                  root: Path = REPO_ROOT) -> Iterator[Tuple[int, str]]:
    """``(line, absolute module name)`` of every import in ``path``, also
    those inside functions; relative imports resolved."""
    name = module_name(path, root)
    package = name if path.name == '__init__.py' else name.rpartition(
        '.')[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                module = '.'.join(base + ([node.module] if node.module
                                          else []))
            else:
                module = node.module or ''
            if node.module is None:  # from . import a, b
                for alias in node.names:
                    yield node.lineno, f'{module}.{alias.name}'
            else:
                yield node.lineno, module


def violations(package: Path = PACKAGE):
    """One message per import that breaks the layering."""
    root = package.parent
    out = []
    for path in sorted(package.rglob('*.py')):
        source = module_name(path, root)
        src_unit = unit_of(source)
        if src_unit is None:
            out.append(f'{path.relative_to(root)}: {source} is in no '
                       'layer; add its package to LAYERS and to the layers '
                       'of docs/design.md')
            continue
        for line, target in shike_imports(path, root):
            if target != 'shike_mm' and not target.startswith('shike_mm.'):
                continue
            dst_unit = unit_of(target)
            if dst_unit == src_unit:
                continue
            where = f'{path.relative_to(root)}:{line}'
            if src_unit == 'shike_mm.protocols':
                out.append(f'{where}: protocols.py imports {target}; it '
                           'must import nothing of shike_mm')
                continue
            if dst_unit is None:
                out.append(f'{where}: imports {target}, in no layer')
                continue
            src_layer, dst_layer = LAYERS[src_unit], LAYERS[dst_unit]
            if dst_layer > src_layer:
                out.append(f'{where}: {src_unit} (L{src_layer}) imports '
                           f'{target} from a higher layer (L{dst_layer})')
            elif dst_layer == src_layer and not SIBLINGS_ALLOWED[src_layer]:
                out.append(f'{where}: {src_unit} imports its L{src_layer} '
                           f'sibling {target}')
    return out


def test_every_module_imports_only_downward():
    problems = violations()
    assert not problems, '\n'.join(problems)


@pytest.mark.parametrize('source, target, expected', [
    ('models/x.py', 'from shike_mm.analysis import y', 'higher layer'),
    ('models/x.py', 'from ..evaluation import y', 'sibling'),
    ('protocols.py', 'from .utils import y', 'must import nothing'),
    ('utils/x.py', 'import shike_mm.engine', 'higher layer'),
    ('engine/x.py', 'from ..models import y', None),
    ('analysis/x.py', 'import shike_mm', None),
])
def test_the_check_itself(tmp_path, source, target, expected):
    """The checker flags an upward and a sideways import in a scratch
    package laid out as shike_mm."""
    root = tmp_path / 'shike_mm'
    path = root / source
    path.parent.mkdir(parents=True, exist_ok=True)
    for parent in [path.parent, *path.parent.parents]:
        if parent == tmp_path:
            break
        (parent / '__init__.py').touch()
    path.write_text(f'def f():\n    {target}\n')
    problems = violations(root)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and expected in problems[0], problems
