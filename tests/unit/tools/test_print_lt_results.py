# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/print_lt_results.py (the quickstart's last lines):
the last and the best checkpoint and the log are shown the same way,
relative to the current directory when under it, absolute otherwise. The
tool runs in this process (``main(argv)``) from the directory a user would
start it in."""
import json
import re

import pytest

from tests.helpers.inprocess_tools import run_tool

TOOL = 'tools/analysis_tools/print_lt_results.py'


def run_in(cwd, monkeypatch, *argv):
    """The tool's run, started in the directory ``cwd``."""
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        return run_tool(TOOL, argv)


def output_in(cwd, monkeypatch, *argv):
    run = run_in(cwd, monkeypatch, *argv)
    assert run.exit_code == 0, run
    return run.output


def fake_work_dir(root):
    """A work dir as mmengine leaves it: ``last_checkpoint`` holds an
    absolute path, the best checkpoint is found by its name."""
    work_dir = root / 'work_dirs' / 'quickstart'
    run = work_dir / '20260101_000000'
    (run / 'vis_data').mkdir(parents=True)
    (run / '20260101_000000.log').write_text('log\n')
    (run / 'vis_data' / 'scalars.json').write_text(json.dumps({
        'accuracy/top1': 64.5, 'accuracy/many': 76.2,
        'accuracy/medium': 50.9, 'accuracy/few': 55.6, 'step': 20}) + '\n')
    (work_dir / 'epoch_20.pth').write_bytes(b'')
    (work_dir / 'best_accuracy_top1_epoch_18.pth').write_bytes(b'')
    (work_dir / 'last_checkpoint').write_text(
        str((work_dir / 'epoch_20.pth').resolve()))
    return work_dir


def shown(stdout, what):
    return re.search(rf'^  {what}: (.*)$', stdout, re.M).group(1)


@pytest.mark.parametrize('absolute', [False, True])
def test_checkpoints_are_shown_relative_to_the_current_dir(
        tmp_path, monkeypatch, absolute):
    work_dir = fake_work_dir(tmp_path)
    arg = work_dir.resolve() if absolute else 'work_dirs/quickstart'
    out = output_in(tmp_path, monkeypatch, arg)
    assert 'overall top-1   64.50' in out
    assert shown(out, 'last checkpoint') == 'work_dirs/quickstart/epoch_20.pth'
    assert shown(out, 'best checkpoint') == \
        'work_dirs/quickstart/best_accuracy_top1_epoch_18.pth'
    assert shown(out, 'log') == \
        'work_dirs/quickstart/20260101_000000/20260101_000000.log'


def test_checkpoints_outside_the_current_dir_are_absolute(tmp_path,
                                                          monkeypatch):
    work_dir = fake_work_dir(tmp_path / 'elsewhere')
    (tmp_path / 'here').mkdir()
    out = output_in(tmp_path / 'here', monkeypatch, work_dir)
    base = work_dir.resolve()
    assert shown(out, 'last checkpoint') == str(base / 'epoch_20.pth')
    assert shown(out, 'best checkpoint') == str(
        base / 'best_accuracy_top1_epoch_18.pth')


def test_expected_range_is_printed_after_the_result(tmp_path, monkeypatch):
    """--expected prints mean ± sample std and [min, max] per metric over
    the seeds of the file; a file whose lists do not match its seeds is an
    error naming the file and the key."""
    work_dir = fake_work_dir(tmp_path)
    spec = dict(seeds=[0, 1, 2], stack='requirements/lock.txt',
                commit='abc1234',
                metrics={'accuracy/top1': dict(runs=[59.0, 61.0, 63.0]),
                         'accuracy/many': dict(runs=[70.0, 70.0, 73.0]),
                         'accuracy/medium': dict(runs=[50.0, 52.0, 54.0]),
                         'accuracy/few': dict(runs=[30.0, 40.0, 50.0])})
    expected = tmp_path / 'expected.json'
    expected.write_text(json.dumps(spec))
    out = output_in(tmp_path, monkeypatch, work_dir, '--expected', expected)
    lines = out.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith('Expected'))
    assert start > 4  # after the result
    assert 'requirements/lock.txt (seeds 0, 1, 2, code of abc1234' in \
        lines[start]
    assert lines[start + 1].split() == ['overall', 'top-1', '61.00', '±',
                                        '2.00', '[59.00,', '63.00]']
    assert lines[start + 2].split()[1:] == ['71.00',
                                            '±', '1.73', '[70.00,',
                                            '73.00]']
    assert lines[start + 4].split()[1:] == ['40.00', '±', '10.00', '[30.00,',
                                            '50.00]']

    spec['metrics']['accuracy/few']['runs'] = [30.0]
    expected.write_text(json.dumps(spec))
    bad = run_in(tmp_path, monkeypatch, work_dir, '--expected', expected)
    assert bad.exit_code != 0, bad
    assert 'accuracy/few has 1 values for 3 seeds' in bad.message, bad
    assert str(expected) in bad.message
    assert 'Result after epoch' not in bad.output
