# Copyright (c) shike-mm contributors. All rights reserved.
"""Quiet logs: importing shike_mm silences mmcv-lite's one expected warning
(the compiled op it cannot import) and no other warning; a CPU-only run's
log says cpu and gloo, with no GPU count, no nccl and no deprecation notice
our code or configs trigger."""
import warnings


from tests.helpers.commands import REPO_ROOT


SHIKE = REPO_ROOT / 'configs/shike/shike_r32_cifar100-lt-r100.py'


def test_stage_schedule_check_steps_the_optimizer_first():
    """The stage recipe's LR check (run before every staged training) steps
    its schedulers without torch's ordering warning, and reads the same
    table as a plain loop that steps the optimizer first."""
    from mmengine.config import Config

    from shike_mm.engine.stages import (check_stage_schedule,
                                        resolve_stage_schedule,
                                        stage_recipe_of)
    cfg = resolve_stage_schedule(Config.fromfile(str(SHIKE)))
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        check_stage_schedule(stage_recipe_of(cfg), cfg.param_scheduler,
                             cfg.train_cfg.max_epochs, cfg.optim_wrapper)


def test_dropped_log_messages_drops_only_the_named_ones_and_only_inside():
    import logging

    from shike_mm.utils.log_filters import dropped_log_messages
    logger = logging.getLogger('shike_mm_test_dropped')
    seen = []

    class Keep(logging.Handler):

        def emit(self, record):
            seen.append(record.getMessage())

    logger.addHandler(Keep())
    logger.propagate = False
    with dropped_log_messages(logger, ['"FileClient" will be deprecated']):
        logger.warning('"FileClient" will be deprecated in future. ...')
        logger.warning('a checkpoint could not be written')
    logger.warning('"FileClient" will be deprecated in future. ...')
    assert seen == ['a checkpoint could not be written',
                    '"FileClient" will be deprecated in future. ...']
    assert not logger.filters
