# Copyright (c) shike-mm contributors. All rights reserved.
"""StageSwitchHook: the declared stages, checked against the schedule
before training; the stage decided by the epoch alone (fresh start,
resume, weights of a finished run); the switch itself (freezing,
re-initialisation, head mode, sampler, batch size); schedulers that refer
to stages; rescale_schedule keeping every epoch value together.
In-process on a stand-in runner: these are properties of the hook, no
subprocess adds anything. tools/train.py is exercised once (in this
process, ``main(argv)``), for the error a user sees; the hook on a
stand-in runner is in tests/unit/engine/test_stage_boundary.py."""


from tests.helpers.inprocess_tools import run_train
from tests.helpers.stage_fakes import QUICK


def test_train_py_stops_before_training_with_a_stage_past_the_end(
        tmp_path):
    run = run_train([
        QUICK, '--work-dir', tmp_path, '--cfg-options',
        'custom_hooks.0.stages.0.begin=20',
        'train_dataloader.dataset.max_per_class=200',
        'train_dataloader.num_workers=0'])
    assert run.exit_code != 0, run
    assert "StageSwitchHook stage 'retrain' (begin=20): the stage begins " \
        'at or past the end of training (train_cfg.max_epochs=20)' \
        in run.message, run
    assert not list(tmp_path.glob('*.pth'))
