# Copyright (c) shike-mm contributors. All rights reserved.
"""No silent NaN, no silently wrong run: non-finite losses stop training
before the step, checkpoints that do not fit the config are errors when
testing, num_classes is checked against the data before the first step,
and resuming another run's checkpoint stops with the differences. Here the
cases that run the tools (in this process, ``main(argv)``) or train; the
ones on stand-in objects are in
tests/unit/reliability/test_training_guards.py."""
import re

import pytest
import torch

from tests.helpers.inprocess_tools import run_test, run_train
from tests.helpers.tiny_runs import (TINY_CONFIG, hooked_config, load,
                                     tiny_data_options)


def test_learning_rate_blowup_stops_run_and_keeps_last_good_checkpoint(
        tmp_path, tiny_root):
    # 6 iterations per epoch: the blow-up is at epoch 2, iteration 2.
    config = hooked_config(
        tmp_path, "dict(type='ScaleLrAtIterHook', iteration=8, factor=1e30)")
    run = run_train([config, '--work-dir', tmp_path, '--cfg-options',
                     *tiny_data_options(tiny_root),
                     'train_cfg.max_epochs=3'])
    assert run.raised(FloatingPointError), run
    found = re.search(r'FloatingPointError: non-finite loss at epoch 2, '
                      r'iteration (\d) .*: loss=(nan|inf)', run.message)
    assert found, run
    assert int(found.group(1)) >= 3  # the step after the blow-up
    assert (tmp_path / 'epoch_1.pth').is_file()
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith(
        'epoch_1.pth')
    weights = load(tmp_path / 'epoch_1.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in weights.values()
               if v.is_floating_point())


def test_test_tool_refuses_checkpoint_of_another_shape(tmp_path, tiny_root,
                                                       tiny_run):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    # a 20-class head in the file, a 4-class head in the config
    checkpoint['state_dict']['head.fc.weight'] = torch.zeros(20, 64)
    checkpoint['state_dict']['head.fc.bias'] = torch.zeros(20)
    path = tmp_path / 'twenty.pth'
    torch.save(checkpoint, path)
    run = run_test([TINY_CONFIG, path, '--work-dir', tmp_path / 'w',
                    '--cfg-options', *tiny_data_options(tiny_root)])
    assert run.exit_code != 0, run
    assert f'checkpoint {path} does not fit the model' in run.message, run
    assert 'head.fc.weight: checkpoint (20, 64) vs model (4, 64)' in \
        run.message
    assert 'head.fc.bias: checkpoint (20,) vs model (4,)' in run.message
    assert 'Epoch(test)' not in run.output  # nothing was evaluated


@pytest.mark.parametrize('num_classes', [3, 5])
def test_head_classes_checked_before_first_step(tmp_path, tiny_root,
                                                num_classes):
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                     *tiny_data_options(tiny_root),
                     f'model.head.num_classes={num_classes}'])
    assert run.raised(ValueError), run
    assert (f'model.head.num_classes={num_classes} but the train set '
            '(CustomDataset) has 4 classes') in run.message
    assert 'Epoch(train)' not in run.output
    assert not list(tmp_path.glob('*.pth'))


def test_loss_reduction_checked_when_model_is_built(tmp_path, tiny_root):
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                     *tiny_data_options(tiny_root),
                     'model.head.loss.reduction=average'])
    assert run.exit_code != 0, run
    assert ("model.head.loss_module (CrossEntropyLoss): reduction='average' "
            "is not one of ('none', 'mean', 'sum')") in run.message, run
    assert 'Epoch(train)' not in run.output


def test_resume_of_another_runs_checkpoint_stops(tmp_path, tiny_root,
                                                 tiny_run):
    import shutil
    work = tmp_path / 'work'
    shutil.copytree(tiny_run, work)
    opts = tiny_data_options(tiny_root) + ['train_cfg.max_epochs=2']
    changed = opts + ['train_dataloader.batch_size=4',
                      'model.backbone.depth=34']
    run = run_train([TINY_CONFIG, '--work-dir', work, '--resume',
                     '--cfg-options', *changed])
    assert run.exit_code != 0, run
    assert 'was trained with a different config' in run.message, run
    assert 'train_dataloader.batch_size: 8 -> 4' in run.message
    assert 'model.backbone.depth: 18 -> 34' in run.message
    # the max_epochs change is a difference too
    assert 'train_cfg.max_epochs: 1 -> 2' in run.message
    assert not (work / 'epoch_2.pth').exists()

    # the same data and model with a longer schedule, explicitly allowed
    going = run_train([TINY_CONFIG, '--work-dir', work, '--resume',
                       '--resume-anyway', '--cfg-options', *opts])
    assert going.exit_code == 0, going
    assert 'resume_anyway=True: going on' in going.output
    assert 'resumed epoch: 1' in going.output
    assert (work / 'epoch_2.pth').is_file()
