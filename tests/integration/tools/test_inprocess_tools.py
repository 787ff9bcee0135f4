# Copyright (c) shike-mm contributors. All rights reserved.
"""``tests.helpers.inprocess_tools.run_tool``: a tool's ``main(argv)`` in
the test process captures what the tool prints (the runner's log lines
included), reports the exception or exit status, and leaves no state that
the next run would see: two runs of one config in a row (one experiment
name when they start in the same second) each log into their own output
and log file. (About 6 s: the first run imports what the runner
needs.)"""
import os
import signal

from tests.helpers.inprocess_tools import run_tool, run_train
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def manager_instances():
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.registry import DefaultScope
    from mmengine.visualization import Visualizer
    return {cls.__name__: dict(cls._instance_dict)
            for cls in (MMLogger, MessageHub, DefaultScope, Visualizer)}


def refused_run(tmp_path, tiny_root, num_classes):
    # refused by NumClassesCheckHook in before_train: the runner, its logger
    # and its log file exist by then
    work = tmp_path / f'classes{num_classes}'
    run = run_train([TINY_CONFIG, '--work-dir', work, '--cfg-options',
                     *tiny_data_options(tiny_root),
                     f'model.head.num_classes={num_classes}'])
    assert run.raised(ValueError), run
    assert f'model.head.num_classes={num_classes} but the train set' in \
        run.message
    return run, work


def test_two_runs_in_a_row_keep_their_logs_apart(tmp_path, tiny_root):
    before = manager_instances()
    keys = ('LOCAL_RANK', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS')
    environ = {key: os.environ.get(key) for key in keys}
    sigterm = signal.getsignal(signal.SIGTERM)
    first, first_dir = refused_run(tmp_path, tiny_root, 3)
    second, second_dir = refused_run(tmp_path, tiny_root, 5)
    for run, classes, other in ((first, 3, 5), (second, 5, 3)):
        # the runner's logger wrote into this run's output: the config dump
        assert f'num_classes={classes}' in run.output, run
        assert f'num_classes={other}' not in run.output
        assert 'Distributed training: False' in run.output
    for work, classes in ((first_dir, 3), (second_dir, 5)):
        [log] = work.glob('*/*.log')
        assert f'num_classes={classes}' in log.read_text()
    assert manager_instances() == before
    # LOCAL_RANK set by the tool, the thread counts mmengine may set: undone
    assert {key: os.environ.get(key) for key in keys} == environ
    assert signal.getsignal(signal.SIGTERM) is sigterm


def test_exit_status_and_usage_of_a_bad_option():
    run = run_tool('tools/train.py', [TINY_CONFIG, '--no-such-option'])
    assert run.raised(SystemExit) and run.exit_code == 2
    assert 'unrecognized arguments: --no-such-option' in run.output
    assert run.message == ''


def test_system_exit_with_a_message(tmp_path):
    run = run_tool('tools/analysis_tools/collect_rules.py', [tmp_path])
    assert run.exit_code == 1
    assert run.message.startswith('no */*/rules.md')
