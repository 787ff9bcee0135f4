# Copyright (c) shike-mm contributors. All rights reserved.
"""The README's quickstart block and tools/quickstart.sh state the same
expected results: the block is what print_lt_results prints for seed 0
followed by the range of tools/quickstart_expected.json."""
import json
import statistics

from tests.helpers.commands import REPO_ROOT

EXPECTED = REPO_ROOT / 'tools' / 'quickstart_expected.json'
LINES = (('overall top-1', 'accuracy/top1'), ('many-shot', 'accuracy/many'),
         ('medium-shot', 'accuracy/medium'), ('few-shot', 'accuracy/few'))


def test_quickstart_prints_the_expected_file():
    script = (REPO_ROOT / 'tools' / 'quickstart.sh').read_text()
    assert '--expected tools/quickstart_expected.json' in script


def test_readme_block_matches_the_expected_file():
    spec = json.loads(EXPECTED.read_text())
    assert len(spec['seeds']) >= 3 and spec['seeds'][0] == 0
    readme = (REPO_ROOT / 'README.md').read_text()
    block = readme[readme.index('Result after epoch 20'):]
    block = block[:block.index('```')]
    for label, key in LINES:
        runs = spec['metrics'][key]['runs']
        assert len(runs) == len(spec['seeds'])
        seed0 = f'  {label:<14} {runs[0]:6.2f}\n'
        spread = (f'  {label:<14} {statistics.mean(runs):6.2f} ± '
                  f'{statistics.stdev(runs):5.2f}  [{min(runs):.2f}, '
                  f'{max(runs):.2f}]\n')
        assert seed0 in block, (label, seed0)
        assert spread in block, (label, spread)
