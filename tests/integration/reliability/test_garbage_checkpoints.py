# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py`` does not print a metric for a checkpoint it cannot
trust: non-finite weights, entries that cannot be copied into the model,
empty / truncated files, directories, malformed ``meta.class_counts``. Here
the cases that run the tool (in this process, ``main(argv)``, and once as
a process, for what the terminal shows) or need a trained checkpoint; the
others are in tests/unit/reliability/test_garbage_checkpoints.py."""
import pytest

from tests.helpers.checkpoint_edits import edited
from tests.helpers.commands import run_command
from tests.helpers.inprocess_tools import run_test
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def run_test_tool(checkpoint, work, root):
    return run_test([TINY_CONFIG, checkpoint, '--work-dir', work,
                     '--cfg-options', *tiny_data_options(root)])


def test_test_tool_refuses_non_finite_weights(tmp_path, tiny_root,
                                              tiny_run):
    def all_nan(checkpoint):
        for value in checkpoint['state_dict'].values():
            if value.is_floating_point():
                value.fill_(float('nan'))

    path = edited(tiny_run, tmp_path, all_nan)
    run = run_test_tool(path, tmp_path / 'w', tiny_root)
    assert run.exit_code != 0, run
    assert f'checkpoint {path}: ' in run.message, run
    assert 'tensor(s) hold nan/inf (backbone.conv1.weight' in run.message
    assert 'Epoch(test)' not in run.output and 'accuracy/top1: ' not in \
        run.output


def test_test_tool_refuses_entry_that_cannot_be_copied(tmp_path, tiny_root,
                                                       tiny_run):
    def list_bias(checkpoint):
        checkpoint['state_dict']['head.fc.bias'] = [0.0] * 4

    path = edited(tiny_run, tmp_path, list_bias)
    run = run_test_tool(path, tmp_path / 'w', tiny_root)
    assert run.exit_code != 0, run
    assert f'checkpoint {path} does not fit the model' in run.message, run
    assert 'not a tensor (1):\n    head.fc.bias: a list' in run.message
    assert 'accuracy/top1: ' not in run.output


@pytest.mark.parametrize('kind, message', [
    ('empty', r'is empty \(0 bytes\): the save or copy that wrote it was '
     'interrupted'),
    ('truncated', r'\(1000 bytes\) is not a readable checkpoint: it is '
     'truncated or corrupt .*PytorchStreamReader'),
    ('directory', 'is a directory, not a checkpoint file'),
])
def test_unreadable_checkpoint_files_are_named(tmp_path, tiny_run, kind,
                                               message):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                  load_checkpoint_file)
    path = tmp_path / 'ckpt.pth'
    if kind == 'empty':
        path.write_bytes(b'')
    elif kind == 'truncated':
        path.write_bytes((tiny_run / 'epoch_1.pth').read_bytes()[:1000])
    else:
        path.mkdir()
    with pytest.raises(CheckpointError, match=f'{path} {message}'):
        load_checkpoint_file(str(path))


def test_test_tool_names_a_directory(tmp_path, tiny_root, python):
    """As a process (the one refusal of tools/test.py that is): exit status
    1, one traceback (no chain of them) and the message as the last line
    the terminal shows."""
    proc = run_command([python, 'tools/test.py', TINY_CONFIG, tmp_path,
                        '--work-dir', tmp_path / 'w', '--cfg-options',
                        *tiny_data_options(tiny_root)])
    assert proc.returncode == 1, proc.stdout[-3000:]
    message = (f'CheckpointError: checkpoint {tmp_path} is a directory, not '
               'a checkpoint file')
    assert message in proc.stdout.rstrip().splitlines()[-1], \
        proc.stdout[-3000:]
    assert proc.stdout.count('Traceback (most recent call last)') == 1
    assert 'During handling of the above exception' not in proc.stdout
    assert 'accuracy/top1: ' not in proc.stdout


def test_test_tool_names_bad_class_counts(tmp_path, tiny_root, tiny_run):
    def zeros(checkpoint):
        checkpoint['meta']['class_counts'] = [0, 0, 0, 0]

    path = edited(tiny_run, tmp_path, zeros)
    run = run_test_tool(path, tmp_path / 'w', tiny_root)
    assert run.raised(ValueError), run
    assert f'ValueError: {path}: meta.class_counts is all zeros' in \
        run.message
    assert 'accuracy/top1: ' not in run.output
