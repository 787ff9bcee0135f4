# Copyright (c) shike-mm contributors. All rights reserved.
"""No code runs from a checkpoint: crafted checkpoints made only of globals
the old allow-list admitted are refused while unpickling or by the
structural check, on ``tools/train.py --resume`` and ``tools/test.py``; real
mmengine checkpoints (including empty numpy arrays) still load. Here the
cases that run the tools (in this process, ``main(argv)``) or need a
trained checkpoint; the others are in
tests/unit/reliability/test_checkpoint_safety.py."""
from collections import OrderedDict

import numpy as np
import pytest

from tests.helpers import crafted_checkpoints as crafted
from tests.helpers.inprocess_tools import run_test, run_train
from tests.helpers.tiny_runs import TINY_CONFIG, load, tiny_data_options


def test_structure_check_refuses_buffer_outside_log_scalars(tiny_run):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                  check_checkpoint_structure)
    checkpoint = load(tiny_run / 'epoch_1.pth')
    check_checkpoint_structure(checkpoint, 'real.pth')  # passes
    from mmengine.logging import HistoryBuffer
    evil = crafted.with_message_hub_entry(checkpoint, 'runtime_info', 'b',
                                          HistoryBuffer([1.0], [1]))
    with pytest.raises(CheckpointError,
                       match=r"message_hub\['runtime_info'\]\['b'\] is a "
                       'mmengine.logging.history_buffer.HistoryBuffer'):
        check_checkpoint_structure(evil, 'evil.pth')
    odd = dict(checkpoint, meta=dict(checkpoint['meta'],
                                     obj=np.array([None], dtype=object)))
    with pytest.raises(CheckpointError, match='numpy object array'):
        check_checkpoint_structure(odd, 'odd.pth')
    attrs = OrderedDict(a=1)
    attrs.extra = 'x'
    with pytest.raises(CheckpointError, match=r"attributes \['extra'\]"):
        check_checkpoint_structure({'state_dict': attrs}, 'attrs.pth')


def assert_refused(run, path, marker):
    assert run.exit_code != 0, run
    assert 'CheckpointError: refused to load checkpoint' in run.message, run
    assert str(path) in run.message
    assert 'weights_only=False' not in run.shown
    assert 'add_safe_globals' not in run.shown
    assert not marker.exists()


def test_code_running_checkpoint_refused_by_tools(tmp_path, tiny_root,
                                                  tiny_run):
    marker = tmp_path / 'ran'
    base = load(tiny_run / 'epoch_1.pth')
    opts = tiny_data_options(tiny_root)
    # before the fix, resuming this ran the payload (MessageHub deep-copies
    # runtime_info)
    evil = crafted.save(crafted.with_message_hub_entry(
        base, 'runtime_info', 'evil', crafted.code_running_buffer(marker)),
        tmp_path / 'evil.pth')
    resumed = run_train([TINY_CONFIG, '--work-dir', tmp_path / 'w',
                         '--resume', evil, '--cfg-options', *opts,
                         'train_cfg.max_epochs=2'])
    assert_refused(resumed, evil, marker)
    assert "attribute '__self__'" in resumed.message
    evil2 = crafted.save(crafted.with_message_hub_entry(
        base, 'log_scalars', 'evil', crafted.code_running_buffer(marker)),
        tmp_path / 'evil2.pth')
    tested = run_test([TINY_CONFIG, evil2, '--work-dir', tmp_path / 't',
                       '--cfg-options', *opts])
    assert_refused(tested, evil2, marker)


def test_legacy_meta_config_is_not_executed(tmp_path, tiny_root, tiny_run):
    """mmengine's resume runs ``meta['config']`` through
    ``Config.fromstring`` (Python code); it is dropped unread."""
    marker = tmp_path / 'ran'
    checkpoint = load(tiny_run / 'epoch_1.pth')
    checkpoint['meta']['config'] = (
        f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    path = crafted.save(checkpoint, tmp_path / 'legacy.pth')
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path / 'w', '--resume',
                     path, '--cfg-options', *tiny_data_options(tiny_root),
                     'train_cfg.max_epochs=1'])
    assert run.exit_code == 0, run
    assert 'resumed epoch: 1' in run.output
    assert not marker.exists()
