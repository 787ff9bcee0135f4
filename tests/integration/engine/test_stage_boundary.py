# Copyright (c) shike-mm contributors. All rights reserved.
"""StageSwitchHook: the declared stages, checked against the schedule
before training; the stage decided by the epoch alone (fresh start,
resume, weights of a finished run); the switch itself (freezing,
re-initialisation, head mode, sampler, batch size); schedulers that refer
to stages; rescale_schedule keeping every epoch value together.
In-process on a stand-in runner: these are properties of the hook, no
subprocess adds anything. tools/train.py is exercised once, for the error
a user sees. Here the cases that start a process or compile; the in-process
ones are in tests/unit/engine/test_stage_boundary.py."""


from tests.helpers.commands import run_command
from tests.helpers.stage_fakes import QUICK


def test_train_py_stops_before_training_with_a_stage_past_the_end(
        tmp_path, python):
    proc = run_command([
        python, 'tools/train.py', QUICK, '--work-dir', tmp_path,
        '--cfg-options', 'custom_hooks.0.stages.0.begin=20',
        'train_dataloader.dataset.max_per_class=200',
        'train_dataloader.num_workers=0'])
    assert proc.returncode != 0
    assert "StageSwitchHook stage 'retrain' (begin=20): the stage begins " \
        'at or past the end of training (train_cfg.max_epochs=20)' \
        in proc.stdout
    assert not list(tmp_path.glob('*.pth'))
