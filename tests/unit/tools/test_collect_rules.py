# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/collect_rules.py: mean ± sample std over the seeds
of each config's rules.md tables, by hand. The tool runs in this process
(``main(argv)``)."""
from tests.helpers.inprocess_tools import run_tool

TOOL = 'tools/analysis_tools/collect_rules.py'
TABLE = '''ckpt: 10 test images
| rule | top-1 | fwd-LT 50 | uniform | bwd-LT 50 | ECE | NLL |
| ---- | ----: | --------: | ------: | --------: | --: | --: |
| as trained | {a} | 80.00 | {a} | 40.00 | {e} | 1.00 |
| LA tau=1 | 60.00 | 70.00 | 60.00 | 50.00 | 5.00 | 0.90 |
'''


def test_mean_and_std_over_seeds(tmp_path):
    for seed, (acc, ece) in enumerate([(50.0, 10.0), (54.0, 14.0)]):
        run = tmp_path / 'ce_cfg' / f'seed{seed}-abc'
        run.mkdir(parents=True)
        (run / 'rules.md').write_text(TABLE.format(a=acc, e=ece))
    (tmp_path / 'ce_cfg' / 'seed2-abc').mkdir()  # unfinished: no rules.md
    run = run_tool(TOOL, [tmp_path, '--rules', 'as trained', 'LA tau=1',
                          '--out', tmp_path / 't.md'])
    assert run.exit_code == 0, run
    out = run.output
    rows = [line for line in out.splitlines() if line.startswith('| ce')]
    assert rows[0] == ('| ce_cfg | as trained | 2 | 52.00 ± 2.83 | '
                       '80.00 ± 0.00 | 52.00 ± 2.83 | 40.00 ± 0.00 | '
                       '12.00 ± 2.83 |')
    assert rows[1].startswith('| ce_cfg | LA tau=1 | 2 | 60.00 ± 0.00 |')
    assert (tmp_path / 't.md').read_text() == out


def test_nothing_to_collect_is_an_error(tmp_path):
    (tmp_path / 'cfg' / 'seed0-x').mkdir(parents=True)
    run = run_tool(TOOL, [tmp_path])
    assert run.exit_code != 0, run
    assert 'no */*/rules.md' in run.message, run
