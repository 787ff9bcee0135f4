# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py`` does not print a metric for a checkpoint it cannot
trust: non-finite weights, entries that cannot be copied into the model,
empty / truncated files, directories, malformed ``meta.class_counts``. Here
the cases that start a process or compile; the in-process ones are in
tests/unit/reliability/test_garbage_checkpoints.py."""
import pytest

from tests.helpers.checkpoint_edits import edited
from tests.helpers.commands import run_command
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def run_test_tool(python, checkpoint, work, root):
    return run_command([python, 'tools/test.py', TINY_CONFIG, checkpoint,
                        '--work-dir', work, '--cfg-options',
                        *tiny_data_options(root)])


def test_test_tool_refuses_non_finite_weights(tmp_path, tiny_root, tiny_run,
                                              python):
    def all_nan(checkpoint):
        for value in checkpoint['state_dict'].values():
            if value.is_floating_point():
                value.fill_(float('nan'))

    path = edited(tiny_run, tmp_path, all_nan)
    proc = run_test_tool(python, path, tmp_path / 'w', tiny_root)
    assert proc.returncode != 0
    assert f'checkpoint {path}: ' in proc.stdout
    assert 'tensor(s) hold nan/inf (backbone.conv1.weight' in proc.stdout
    assert 'Epoch(test)' not in proc.stdout and 'accuracy/top1: ' not in \
        proc.stdout


def test_test_tool_refuses_entry_that_cannot_be_copied(tmp_path, tiny_root,
                                                       tiny_run, python):
    def list_bias(checkpoint):
        checkpoint['state_dict']['head.fc.bias'] = [0.0] * 4

    path = edited(tiny_run, tmp_path, list_bias)
    proc = run_test_tool(python, path, tmp_path / 'w', tiny_root)
    assert proc.returncode != 0
    assert f'checkpoint {path} does not fit the model' in proc.stdout
    assert 'not a tensor (1):\n    head.fc.bias: a list' in proc.stdout
    assert 'accuracy/top1: ' not in proc.stdout


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
    proc = run_test_tool(python, tmp_path, tmp_path / 'w', tiny_root)
    assert proc.returncode != 0
    assert (f'CheckpointError: checkpoint {tmp_path} is a directory, not a '
            'checkpoint file') in proc.stdout


def test_test_tool_names_bad_class_counts(tmp_path, tiny_root, tiny_run,
                                          python):
    def zeros(checkpoint):
        checkpoint['meta']['class_counts'] = [0, 0, 0, 0]

    path = edited(tiny_run, tmp_path, zeros)
    proc = run_test_tool(python, path, tmp_path / 'w', tiny_root)
    assert proc.returncode != 0
    assert f'ValueError: {path}: meta.class_counts is all zeros' in \
        proc.stdout
    assert 'accuracy/top1: ' not in proc.stdout
