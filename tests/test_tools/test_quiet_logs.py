# Copyright (c) shike-mm contributors. All rights reserved.
"""Quiet logs: importing shike_mm silences mmcv-lite's one expected warning
(the compiled op it cannot import) and no other warning; a CPU-only run's
log says cpu and gloo, with no GPU count, no nccl and no deprecation notice
our code or configs trigger."""
import sys
import warnings

import pytest
import torch

from tests.conftest import REPO_ROOT, check_command
from tests.test_tools.tiny_image_folder import write_image_folder

SCRIPT = (
    'import warnings, shike_mm, mmpretrain.models, mmcv.cnn\n'
    "warnings.warn('Fail to import ``SomethingElse`` from mmcv.ops', "
    'UserWarning)\n')


def test_only_the_mmcv_lite_op_warning_is_silenced():
    out = check_command([sys.executable, '-W', 'default', '-c',
                         SCRIPT]).stdout
    assert 'MultiScaleDeformableAttention' not in out
    assert 'SomethingElse' in out  # other warnings still reach the user


CONFIG = REPO_ROOT / 'tests/data/configs/tiny_resnet_cifar.py'
SHIKE = REPO_ROOT / 'configs/shike/shike_r32_cifar100-lt-r100.py'
# What mmengine logs unasked in a CPU run (the environment block's GPU
# count and the config's nccl backend) and the deprecation notices our
# code or configs triggered.
NOISE = ('GPU number', "'nccl'", 'FileClient', 'HardDiskBackend',
         'scheduler.step()')


@pytest.mark.slow
@pytest.mark.skipif(torch.cuda.is_available(),
                    reason='checks the log of a run without a CUDA device')
def test_cpu_run_log_says_cpu_and_gloo_without_noise(tmp_path, python):
    root = write_image_folder(tmp_path / 'tiny')
    opts = ['--cfg-options'] + [f'{k}={root}' for k in (
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')]
    work = tmp_path / 'work'
    train = check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                           work, *opts, 'train_cfg.max_epochs=1'])
    test = check_command([python, 'tools/test.py', CONFIG,
                          work / 'epoch_1.pth', '--work-dir',
                          tmp_path / 'test', *opts])
    log_file = next(work.glob('*/*.log')).read_text()
    for name, out in (('train', train.stdout), ('test', test.stdout),
                      ('train log file', log_file)):
        for noise in NOISE:
            assert noise not in out, (name, noise)
        assert "dist_cfg: {'backend': 'gloo'}" in out, name
        assert 'device: cpu (no CUDA device), processes: 1' in out, name
        assert "backend='gloo'" in out, name  # the config dump
    assert "backend='gloo'" in (work / CONFIG.name).read_text()


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
