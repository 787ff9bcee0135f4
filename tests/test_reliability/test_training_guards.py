# Copyright (c) shike-mm contributors. All rights reserved.
"""No silent NaN, no silently wrong run: non-finite losses stop training
before the step, checkpoints that do not fit the config are errors when
testing, num_classes is checked against the data before the first step,
and resuming another run's checkpoint stops with the differences."""
import re
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from tests.helpers.commands import check_command, run_command
from tests.helpers.tiny_runs import (TINY_CONFIG, hooked_config, load,
                                     tiny_data_options)


class ToyModel(BaseModel):
    """Two named loss terms; ``bad`` chooses which become nan/inf."""

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(3))
        self.bad = {}

    def forward(self, inputs, data_samples=None, mode='loss'):
        base = (self.w * inputs).sum()
        return {'loss_ce': base * self.bad.get('loss_ce', 1.0),
                'loss_dkt': base * self.bad.get('loss_dkt', 1.0),
                'loss_mutual': base * 0.5}


def toy_runner():
    from shike_mm.engine.hooks import FiniteLossHook
    model = ToyModel()
    hook = FiniteLossHook()
    runner = SimpleNamespace(model=model, epoch=2, iter=40)
    hook.before_train(runner)
    hook.before_train_iter(runner, batch_idx=4)
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    return model, hook, optim


def test_non_finite_loss_stops_before_the_step():
    model, hook, optim = toy_runner()
    data = {'inputs': torch.ones(3)}
    model.train_step(data, optim)  # finite: the step runs
    assert torch.allclose(model.w.detach(), torch.full((3, ), 0.75))
    before = model.w.detach().clone()
    model.bad = {'loss_ce': float('nan'), 'loss_dkt': float('inf')}
    with pytest.raises(FloatingPointError) as err:
        model.train_step(data, optim)
    message = str(err.value)
    assert 'epoch 3, iteration 5 (iteration 41 of the run)' in message
    assert 'loss_ce=nan' in message and 'loss_dkt=inf' in message
    assert 'loss_mutual' not in message
    assert torch.equal(model.w.detach(), before)  # no step was taken
    assert model.w.grad is None or torch.isfinite(model.w.grad).all()
    # wrapping twice (a second train() call) does not stack checks
    wrapped = model.parse_losses
    hook.before_train(SimpleNamespace(model=model, epoch=0, iter=0))
    assert model.parse_losses is wrapped


def test_non_finite_weights_are_not_saved():
    from shike_mm.engine.hooks import FiniteLossHook
    hook = FiniteLossHook()
    good = {'state_dict': {'a': torch.ones(2), 'n': torch.tensor(3)}}
    hook.before_save_checkpoint(SimpleNamespace(epoch=0), good)
    bad = {'state_dict': {'a': torch.ones(2),
                          'head.fc.weight': torch.tensor([1.0, float('nan')]),
                          'bn.running_var': torch.tensor([float('inf')])}}
    with pytest.raises(FloatingPointError,
                       match=r'epoch 2: 2 tensor\(s\) hold nan/inf '
                       r'\(head.fc.weight, bn.running_var\)'):
        hook.before_save_checkpoint(SimpleNamespace(epoch=1), bad)


def test_learning_rate_blowup_stops_run_and_keeps_last_good_checkpoint(
        tmp_path, tiny_root, python):
    # 6 iterations per epoch: the blow-up is at epoch 2, iteration 2.
    config = hooked_config(
        tmp_path, "dict(type='ScaleLrAtIterHook', iteration=8, factor=1e30)")
    proc = run_command([python, 'tools/train.py', config, '--work-dir',
                        tmp_path, '--cfg-options',
                        *tiny_data_options(tiny_root),
                        'train_cfg.max_epochs=3'])
    assert proc.returncode != 0
    found = re.search(r'FloatingPointError: non-finite loss at epoch 2, '
                      r'iteration (\d) .*: loss=(nan|inf)', proc.stdout)
    assert found, proc.stdout[-3000:]
    assert int(found.group(1)) >= 3  # the step after the blow-up
    assert (tmp_path / 'epoch_1.pth').is_file()
    assert not (tmp_path / 'epoch_2.pth').exists()
    assert (tmp_path / 'last_checkpoint').read_text().strip().endswith(
        'epoch_1.pth')
    weights = load(tmp_path / 'epoch_1.pth')['state_dict']
    assert all(torch.isfinite(v).all() for v in weights.values()
               if v.is_floating_point())


def test_test_tool_refuses_checkpoint_of_another_shape(tmp_path, tiny_root,
                                                       tiny_run, python):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    # a 20-class head in the file, a 4-class head in the config
    checkpoint['state_dict']['head.fc.weight'] = torch.zeros(20, 64)
    checkpoint['state_dict']['head.fc.bias'] = torch.zeros(20)
    path = tmp_path / 'twenty.pth'
    torch.save(checkpoint, path)
    proc = run_command([python, 'tools/test.py', TINY_CONFIG, path,
                        '--work-dir', tmp_path / 'w', '--cfg-options',
                        *tiny_data_options(tiny_root)])
    assert proc.returncode != 0
    assert f'checkpoint {path} does not fit the model' in proc.stdout
    assert 'head.fc.weight: checkpoint (20, 64) vs model (4, 64)' in \
        proc.stdout
    assert 'head.fc.bias: checkpoint (20,) vs model (4,)' in proc.stdout
    assert 'Epoch(test)' not in proc.stdout  # nothing was evaluated


def test_state_dict_mismatches_lists_missing_and_unexpected():
    from shike_mm.engine.checkpoint.check import state_dict_mismatches
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    mismatched, missing, unexpected = state_dict_mismatches(
        model, {'module.0.weight': torch.zeros(3, 2), 'extra': torch.ones(1)},
        [(r'^module\.', '')])
    assert mismatched == [] and missing == ['0.bias']
    assert unexpected == ['extra']


@pytest.mark.parametrize('num_classes', [3, 5])
def test_head_classes_checked_before_first_step(tmp_path, tiny_root, python,
                                                num_classes):
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        tmp_path, '--cfg-options',
                        *tiny_data_options(tiny_root),
                        f'model.head.num_classes={num_classes}'])
    assert proc.returncode != 0
    assert (f'model.head.num_classes={num_classes} but the train set '
            '(CustomDataset) has 4 classes') in proc.stdout
    assert 'Epoch(train)' not in proc.stdout
    assert not list(tmp_path.glob('*.pth'))


def test_loss_reduction_checked_when_model_is_built(tmp_path, tiny_root,
                                                    python):
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        tmp_path, '--cfg-options',
                        *tiny_data_options(tiny_root),
                        'model.head.loss.reduction=average'])
    assert proc.returncode != 0
    assert ("model.head.loss_module (CrossEntropyLoss): reduction='average' "
            "is not one of ('none', 'mean', 'sum')") in proc.stdout
    assert 'Epoch(train)' not in proc.stdout


def test_resume_of_another_runs_checkpoint_stops(tmp_path, tiny_root,
                                                 tiny_run, python):
    import shutil
    work = tmp_path / 'work'
    shutil.copytree(tiny_run, work)
    opts = tiny_data_options(tiny_root) + ['train_cfg.max_epochs=2']
    changed = opts + ['train_dataloader.batch_size=4',
                      'model.backbone.depth=34']
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        work, '--resume', '--cfg-options', *changed])
    assert proc.returncode != 0
    assert 'was trained with a different config' in proc.stdout
    assert 'train_dataloader.batch_size: 8 -> 4' in proc.stdout
    assert 'model.backbone.depth: 18 -> 34' in proc.stdout
    # the max_epochs change is a difference too
    assert 'train_cfg.max_epochs: 1 -> 2' in proc.stdout
    assert not (work / 'epoch_2.pth').exists()

    # the same data and model with a longer schedule, explicitly allowed
    going = check_command([python, 'tools/train.py', TINY_CONFIG,
                           '--work-dir', work, '--resume', '--resume-anyway',
                           '--cfg-options', *opts])
    assert 'resume_anyway=True: going on' in going.stdout
    assert 'resumed epoch: 1' in going.stdout
    assert (work / 'epoch_2.pth').is_file()
