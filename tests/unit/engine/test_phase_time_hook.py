# Copyright (c) shike-mm contributors. All rights reserved.
"""PhaseTimeHook logs training vs validation time; every config built on
the default runtime has it."""
import logging
import time
from types import SimpleNamespace

from mmengine.config import Config

from shike_mm.engine.hooks import PhaseTimeHook
from tests.helpers.commands import REPO_ROOT


def test_phase_time_hook_logs_training_and_validation(caplog):
    logger = logging.getLogger('phase-time-test')
    runner = SimpleNamespace(
        logger=logger,
        val_loop=SimpleNamespace(
            dataloader=SimpleNamespace(dataset=list(range(7)))))
    hook = PhaseTimeHook()
    with caplog.at_level(logging.INFO, logger='phase-time-test'):
        for _ in range(2):
            hook.before_train_epoch(runner)
            time.sleep(0.02)
            hook.after_train_epoch(runner)
        hook.before_val(runner)
        time.sleep(0.01)
        hook.after_val(runner)
        hook.after_run(runner)
    assert hook.train_epochs == 2 and hook.val_runs == 1
    assert hook.train_time >= 0.04 and 0.01 <= hook.val_time < hook.train_time
    lines = caplog.messages
    assert lines[0].startswith('time: validation 0.0 s (7 images); so far '
                               'training ')
    assert '(2 epochs, ' in lines[0] and '(1 runs, ' in lines[0]
    assert 'train_cfg.val_interval sets how often' in lines[0]
    assert lines[1].startswith('time: training ')
    assert '% of the run)' in lines[1]


def test_quickstart_config_times_its_phases():
    cfg = Config.fromfile(
        str(REPO_ROOT /
            'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'))
    assert cfg.default_hooks.phase_time == dict(type='PhaseTimeHook')
    # the quickstart's schedule and evaluation are unchanged
    assert cfg.train_cfg.val_interval == 4 and cfg.train_cfg.max_epochs == 20
