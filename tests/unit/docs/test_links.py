# Copyright (c) shike-mm contributors. All rights reserved.
"""Every relative link in the user docs (README.md, docs/*.md and
configs/*/README.md) points at a file or folder of the repository, and
every ``#anchor`` at a heading of the file it names, with GitHub's rule
for turning a heading into an anchor."""
import re
from pathlib import Path

import pytest

from tests.helpers.commands import REPO_ROOT

DOCS = sorted([REPO_ROOT / 'README.md', *(REPO_ROOT / 'docs').glob('*.md'),
               *(REPO_ROOT / 'configs').glob('*/README.md')])
# [text](target) and ![alt](target); the target ends at a space or ')'
LINK = re.compile(r'!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)')
FENCE = re.compile(r'^(```|~~~)')


def markdown_lines(path: Path):
    """The lines of ``path`` outside fenced code blocks."""
    inside = False
    for line in path.read_text(encoding='utf-8').splitlines():
        if FENCE.match(line.strip()):
            inside = not inside
            continue
        if not inside:
            yield line


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: inline code marks and punctuation
    dropped, lower case, spaces to hyphens."""
    text = re.sub(r'\[([^\]]*)\]\([^)]*\)', r'\1', heading)  # links
    text = text.strip().lower().replace('`', '')
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path: Path) -> set:
    """Every anchor GitHub makes for the headings of ``path`` (repeated
    headings get ``-1``, ``-2`` ...)."""
    seen, result = {}, set()
    for line in markdown_lines(path):
        match = re.match(r'#{1,6}\s+(.*?)\s*#*\s*$', line)
        if not match:
            continue
        base = github_anchor(match.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f'{base}-{count}')
    return result


def relative_links(path: Path):
    for number, line in enumerate(markdown_lines(path), 1):
        for target in LINK.findall(line):
            if re.match(r'^[a-z][a-z0-9+.-]*:', target):  # http:, mailto:
                continue
            yield number, target


def test_there_are_docs_and_links_to_check():
    assert REPO_ROOT / 'README.md' in DOCS and len(DOCS) >= 5
    assert sum(1 for doc in DOCS for _ in relative_links(doc)) > 30


@pytest.mark.parametrize('doc', DOCS,
                         ids=lambda p: p.relative_to(REPO_ROOT).as_posix())
def test_relative_links_and_anchors_resolve(doc):
    broken = []
    for number, target in relative_links(doc):
        file_part, _, anchor = target.partition('#')
        linked = (doc.parent / file_part).resolve() if file_part else doc
        if not linked.exists():
            broken.append(f'{target} (no such file: {linked})')
        elif anchor and linked.suffix == '.md' and \
                anchor not in anchors(linked):
            broken.append(f'{target} (no heading #{anchor} in '
                          f'{linked.relative_to(REPO_ROOT)})')
    assert not broken, f'{doc.relative_to(REPO_ROOT)}: ' + '; '.join(broken)


def test_the_anchor_rule_matches_github():
    assert github_anchor('Train, test, distribute') == 'train-test-distribute'
    assert github_anchor('How exact is each variant?') == \
        'how-exact-is-each-variant'
    assert github_anchor('CPU, ResNet-32 on `CIFAR-100-LT`') == \
        'cpu-resnet-32-on-cifar-100-lt'
