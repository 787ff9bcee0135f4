# Copyright (c) shike-mm contributors. All rights reserved.
"""DecoupledRetrainHook: one stage boundary, checked against the schedule
before training; the switch itself (freezing, re-initialisation, head mode,
sampler, batch size); rescale_schedule keeping every epoch value together.
In-process on a stand-in runner: these are properties of the hook, no
subprocess adds anything. tools/train.py is exercised once, for the error
a user sees."""
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from shike_mm.engine.hooks import DecoupledRetrainHook
from shike_mm.utils.schedule_scaling import boundary_map, rescale_schedule
from tests.conftest import REPO_ROOT, run_command

QUICK = REPO_ROOT / 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
CIFAR = REPO_ROOT / 'configs/shike/shike_r32_cifar100-lt-r100.py'


class TinyHead(nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.mode = 'experts'

    def set_mode(self, mode):
        self.mode = mode


class TinyModel(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(4, 4)
        self.head = TinyHead()


class LabelledSet(torch.utils.data.Dataset):
    """90 / 9 / 1 images of classes 0 / 1 / 2."""

    def __init__(self):
        self.labels = np.array([0] * 90 + [1] * 9 + [2])

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, idx):
        return int(self.labels[idx])

    def get_gt_labels(self):
        return self.labels


def fake_runner(config=QUICK, epoch=0, **cfg_options):
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(cfg_options)
    model = TinyModel()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    loader = torch.utils.data.DataLoader(LabelledSet(), batch_size=10)
    logger = logging.getLogger('stage-boundary-test')
    logger.messages = []
    logger.info = logger.messages.append
    return SimpleNamespace(
        cfg=cfg, epoch=epoch, max_epochs=cfg.train_cfg.max_epochs,
        model=model, optim_wrapper=wrapper, seed=0, logger=logger,
        message_hub=MessageHub.get_instance('stage-boundary-test'),
        train_loop=SimpleNamespace(dataloader=loader, _max_epochs=20,
                                   _max_iters=0),
        build_dataloader=Runner.build_dataloader)


def hook_of(runner, **kwargs):
    cfg = dict(runner.cfg.custom_hooks[0])
    cfg.pop('type')
    cfg.update(kwargs)
    return DecoupledRetrainHook(**cfg)


def test_configs_agree_with_their_hook():
    for config in (QUICK, CIFAR):
        runner = fake_runner(config)
        hook_of(runner).check_schedule(runner)  # no error


@pytest.mark.parametrize('options, message', [
    # the boundary at or past the end: stage 2 would never run
    (dict(cornerstone=20, custom_hooks=[dict(
        type='DecoupledRetrainHook', cornerstone=20)]),
     r'at or past the end of training \(train_cfg.max_epochs=20\)'),
    # the hook moved alone (what `custom_hooks.0.cornerstone=2` did)
    (dict(cornerstone=2, custom_hooks=[dict(
        type='DecoupledRetrainHook', cornerstone=2)]),
     r'param_scheduler\[0\] \(LinearLR, begin=0, end=3\) runs across the '
     'stage boundary'),
    # --cfg-options cornerstone=0: a parse-time variable that moves nothing
    (dict(cornerstone=0), r'config variable cornerstone=0 differs'),
])
def test_disagreeing_boundary_stops_before_training(options, message):
    runner = fake_runner(**options)
    hook = hook_of(runner, cornerstone=options.get(
        'custom_hooks', [dict(cornerstone=16)])[0]['cornerstone'])
    with pytest.raises(ValueError, match=message):
        hook.before_train(runner)


def test_schedule_without_restart_is_refused():
    # Move only the stage-2 schedulers away: nothing begins at epoch 16.
    runner = fake_runner(**{'param_scheduler.2.begin': 17,
                            'param_scheduler.2.end': 18})
    with pytest.raises(ValueError, match='no by-epoch param_scheduler '
                       'begins at the cornerstone'):
        hook_of(runner).check_schedule(runner)
    # A restart that begins there but restarts from ~0 (chainable cosine).
    runner = fake_runner()
    runner.cfg.param_scheduler = [
        dict(type='CosineAnnealingLR', T_max=16, eta_min=0.0, begin=0,
             end=16, by_epoch=True),
        dict(type='CosineAnnealingLR', T_max=4, eta_min=0.0, begin=16,
             end=20, by_epoch=True),
    ]
    with pytest.raises(ValueError, match=r'learning rate at the boundary is '
                       r'0.00144, below 0.01 x the peak 0.15'):
        hook_of(runner).check_schedule(runner)
    hook_of(runner, min_restart_ratio=0).check_schedule(runner)


def test_cornerstone_zero_on_a_fresh_run_enters_stage_two():
    runner = fake_runner(cornerstone=0, custom_hooks=[
        dict(type='DecoupledRetrainHook', cornerstone=0)])
    hook = hook_of(runner, cornerstone=0, trainable=('head.fc', ))
    hook.before_train(runner)  # checks pass; nothing switched yet
    assert not hook.retraining
    runner.optim_wrapper.optimizer.state[runner.model.head.fc.weight] = {
        'momentum_buffer': torch.ones(3, 4)}
    hook.before_train_epoch(runner)
    assert hook.retraining
    message = runner.logger.messages[-1]
    assert 'entering stage 2 at epoch 1 (cornerstone 0)' in message
    assert 'resumed' not in message
    assert 'cleared for 1 tensors' in message


def test_switch_freezes_reinitialises_and_switches_sampler():
    runner = fake_runner(epoch=16)
    hook = hook_of(
        runner, trainable=('head', ), head_mode='retrain',
        reinit=('head.fc', ), sampler=dict(type='ClassAwareSampler'),
        batch_size=30)
    model = runner.model
    before = model.head.fc.weight.detach().clone()
    hook.before_train_epoch(runner)
    assert model.head.mode == 'retrain'
    assert not torch.equal(model.head.fc.weight, before)  # re-initialised
    assert [n for n, p in model.named_parameters() if p.requires_grad] == [
        'head.fc.weight', 'head.fc.bias']
    loader = runner.train_loop.dataloader
    assert type(loader.sampler).__name__ == 'ClassAwareSampler'
    assert loader.batch_size == 30
    assert runner.train_loop._max_iters == 20 * len(loader)
    labels = [int(label) for batch in loader for label in batch]
    assert len(labels) == 100
    counts = np.bincount(labels, minlength=3)
    # class-balanced: each class about a third, although 90 / 9 / 1
    assert counts.min() >= 20, counts

    # Resuming in stage 2 re-applies the stage but keeps the weights.
    resumed = fake_runner(epoch=17)
    resumed.model.load_state_dict(model.state_dict())
    hook2 = hook_of(resumed, trainable=('head', ), reinit=('head.fc', ),
                    sampler=dict(type='ClassAwareSampler'))
    hook2.before_train(resumed)
    assert hook2.retraining and resumed.model.head.mode == 'retrain'
    assert torch.equal(resumed.model.head.fc.weight, model.head.fc.weight)
    assert 'resumed in stage 2 at epoch 18' in resumed.logger.messages[-1]
    assert type(resumed.train_loop.dataloader.sampler).__name__ == \
        'ClassAwareSampler'


def test_bad_switch_arguments_name_the_value():
    runner = fake_runner(epoch=16)
    with pytest.raises(ValueError, match="reinit names 'head.nope'"):
        hook_of(runner, trainable=('head', ),
                reinit=('head.nope', )).before_train_epoch(runner)
    runner.model.head = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="head_mode='retrain' but the head "
                       r'\(Linear\) has no set_mode'):
        hook_of(runner, trainable=('head', )).before_train_epoch(runner)
    with pytest.raises(ValueError, match='cornerstone must be an epoch'):
        DecoupledRetrainHook(cornerstone=True)


def test_boundary_map_keeps_boundaries_apart():
    assert boundary_map([0, 2, 3, 16, 17, 18, 20], 20, 40) == {
        0: 0, 2: 4, 3: 6, 16: 32, 17: 34, 18: 36, 20: 40}
    mapped = boundary_map([0, 5, 6, 180, 185, 186, 200], 200, 20)
    assert list(mapped.values()) == [0, 1, 2, 17, 18, 19, 20]
    with pytest.raises(ValueError, match='need at least 6 epochs'):
        boundary_map([0, 2, 3, 16, 17, 18, 20], 20, 5)


def test_rescale_schedule_moves_every_epoch_value_together():
    cfg = Config.fromfile(str(QUICK))
    cfg.model.head.retrain_loss = dict(type='BalancedSoftmaxLoss',
                                       drw_epoch=16)  # an epoch in the model
    scaled = rescale_schedule(cfg, 60)
    assert cfg.train_cfg.max_epochs == 20  # the input is untouched
    assert scaled.train_cfg.max_epochs == 60
    assert scaled.cornerstone == scaled.custom_hooks[0].cornerstone == 48
    assert scaled.model.head.retrain_loss.drw_epoch == 48
    assert [(s.begin, s.end) for s in scaled.param_scheduler] == [
        (0, 9), (6, 48), (48, 54), (51, 60)]
    assert [s.get('T_max') for s in scaled.param_scheduler] == [
        None, 42, None, 9]
    assert scaled.train_cfg.val_interval == 12
    # The rescaled schedule passes the hook's checks.
    runner = fake_runner()
    runner.cfg, runner.max_epochs = scaled, 60
    hook_of(runner).check_schedule(runner)


@pytest.mark.slow
def test_train_py_stops_before_training_with_a_moved_hook(tmp_path, python):
    proc = run_command([
        python, 'tools/train.py', QUICK, '--work-dir', tmp_path,
        '--cfg-options', 'custom_hooks.0.cornerstone=2',
        'train_dataloader.dataset.max_per_class=200',
        'train_dataloader.num_workers=0'])
    assert proc.returncode != 0
    assert 'DecoupledRetrainHook(cornerstone=2): the config variable ' \
        "cornerstone=16 differs from the stage hooks' [2]" in proc.stdout
    assert not list(tmp_path.glob('*.pth'))
