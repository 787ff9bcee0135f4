# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/train.py``: Ctrl-C says what SIGTERM says and exits 130;
non-finite optimizer settings and a ``load_from`` of another architecture
are refused before the first step. Ctrl-C is sent to a process; the
refusals run the tool in this process (``main(argv)``)."""
import signal
import sys

import torch

from tests.helpers.commands import run_command
from tests.helpers.inprocess_tools import run_train
from tests.helpers.tiny_runs import (TINY_CONFIG, load, tiny_data_options)


def arguments(config, work, root, epochs, *options):
    return [config, '--work-dir', work, '--cfg-options',
            *tiny_data_options(root), f'train_cfg.max_epochs={epochs}',
            *options]


def train(config, work, root, epochs, *options):
    return run_command([sys.executable, 'tools/train.py',
                        *arguments(config, work, root, epochs, *options)])


def train_here(config, work, root, epochs, *options):
    return run_train(arguments(config, work, root, epochs, *options))


def test_ctrl_c_names_last_good_checkpoint(tmp_path, tiny_root):
    config = tmp_path / 'interrupted.py'
    config.write_text(
        f'_base_ = [{str(TINY_CONFIG)!r}]\n'
        "custom_imports = dict(imports=['shike_mm', "
        "'tests.helpers.interrupt_hooks'], "
        'allow_failed_imports=False)\n'
        "custom_hooks = [dict(type='SigintHook', iteration=8)]\n")
    work = tmp_path / 'work'
    # 6 iterations per epoch: Ctrl-C at iteration 2 of epoch 2
    proc = train(config, work, tiny_root, 3)
    assert proc.returncode == 128 + signal.SIGINT, proc.stdout[-3000:]
    assert ('SIGINT received at epoch 2, iteration 8: training stopped; '
            f'the last good checkpoint is {work}/epoch_1.pth (--resume '
            'continues from it)') in proc.stdout
    assert 'KeyboardInterrupt' not in proc.stdout
    assert (work / 'train.lock').read_text() == ''  # released


def test_non_finite_learning_rate_refused(tmp_path, tiny_root):
    work = tmp_path / 'work'
    run = train_here(TINY_CONFIG, work, tiny_root, 1,
                     'optim_wrapper.optimizer.lr=nan')
    assert run.raised(ValueError), run
    assert 'ValueError: optim_wrapper.optimizer.lr is nan: optimizer and ' \
        'scheduler settings must be finite' in run.message, run
    assert not work.exists()  # refused before anything was built


def test_finite_settings_check_walks_schedulers():
    import pytest
    from mmengine.config import Config

    from shike_mm.utils.runner_cli import check_finite_settings
    cfg = Config.fromfile(TINY_CONFIG)
    check_finite_settings(cfg)
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', eta_min=0.0),
                           dict(type='LinearLR', start_factor=float('inf'))]
    with pytest.raises(ValueError, match=r'param_scheduler.1.start_factor '
                       'is inf'):
        check_finite_settings(cfg)


def test_load_from_another_architecture_refused(tmp_path, tiny_root,
                                                tiny_run):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    # a checkpoint whose weights mostly live under other names (another
    # architecture's), only the classifier matches
    checkpoint['state_dict'] = {
        (key if key.startswith('head.') else f'other.{key}'): value
        for key, value in checkpoint['state_dict'].items()}
    path = tmp_path / 'other.pth'
    torch.save(checkpoint, path)
    run = train_here(TINY_CONFIG, tmp_path / 'w', tiny_root, 1,
                     f'load_from={path}')
    assert run.exit_code != 0, run
    assert f'CheckpointError: load_from {path} loads only 2 of the ' \
        "model's" in run.message, run
    assert 'allow_partial_load=True' in run.message
    assert 'Epoch(train)' not in run.output
    assert not list((tmp_path / 'w').glob('*.pth'))
    allowed = train_here(TINY_CONFIG, tmp_path / 'w2', tiny_root, 1,
                         f'load_from={path}', 'allow_partial_load=True')
    assert allowed.exit_code == 0, allowed
    # a checkpoint of the same model loads as before
    same = train_here(TINY_CONFIG, tmp_path / 'w3', tiny_root, 1,
                      f'load_from={tiny_run}/epoch_1.pth')
    assert same.exit_code == 0, same
