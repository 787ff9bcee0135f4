# Copyright (c) shike-mm contributors. All rights reserved.
"""No silent NaN, no silently wrong run: non-finite losses stop training
before the step, checkpoints that do not fit the config are errors when
testing, num_classes is checked against the data before the first step,
and resuming another run's checkpoint stops with the differences. The cases
that start a process or compile are in
tests/integration/reliability/test_training_guards.py."""
from types import SimpleNamespace

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper


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


def test_state_dict_mismatches_lists_missing_and_unexpected():
    from shike_mm.engine.checkpoint.check import state_dict_mismatches
    model = torch.nn.Sequential(torch.nn.Linear(2, 3))
    mismatched, missing, unexpected = state_dict_mismatches(
        model, {'module.0.weight': torch.zeros(3, 2), 'extra': torch.ones(1)},
        [(r'^module\.', '')])
    assert mismatched == [] and missing == ['0.bias']
    assert unexpected == ['extra']
