# Copyright (c) shike-mm contributors. All rights reserved.
"""Quiet logs: importing shike_mm silences mmcv-lite's one expected warning
(the compiled op it cannot import) and no other warning; a CPU-only run's
log says cpu and gloo, with no GPU count, no nccl and no deprecation notice
our code or configs trigger."""
import sys

import pytest
import torch

from tests.helpers.commands import REPO_ROOT, check_command
from tests.helpers.tiny_image_folder import write_image_folder

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
