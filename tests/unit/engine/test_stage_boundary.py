# Copyright (c) shike-mm contributors. All rights reserved.
"""StageSwitchHook: the declared stages, checked against the schedule
before training; the stage decided by the epoch alone (fresh start,
resume, weights of a finished run); the switch itself (freezing,
re-initialisation, head mode, sampler, batch size); schedulers that refer
to stages; rescale_schedule keeping every epoch value together.
In-process on a stand-in runner: these are properties of the hook, no
subprocess adds anything. tools/train.py is exercised once (in this
process, ``main(argv)``), for the error a user sees."""

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from shike_mm.engine.hooks import StageSwitchHook
from shike_mm.engine.stages import (StageRecipe, boundary_map,
                                    freeze_for_stage, rescale_schedule,
                                    resolve_param_schedulers,
                                    resolve_stage_schedule, stage_at)
from tests.helpers.inprocess_tools import run_train
from tests.helpers.stage_fakes import (CIFAR, QUICK, TinyModel, fake_runner,
                                       hook_of)


def test_configs_agree_with_their_hook():
    for config in (QUICK, CIFAR):
        runner = fake_runner(config)
        hook_of(runner).check_schedule(runner)  # no error


def test_stage_at_follows_the_declared_begins():
    stages = [dict(name='retrain', begin=180), dict(name='router', begin=200)]
    recipe = StageRecipe.parse(stages)
    assert [stage_at(recipe, e) for e in (0, 179, 180, 199, 200, 204)] == [
        0, 0, 1, 1, 2, 2]
    hook = StageSwitchHook(stages=stages)
    assert hook.names == ['representation', 'retrain', 'router']
    assert hook.stage_at(190) == 1


@pytest.mark.parametrize('begin, message', [
    # the boundary at or past the end: the stage would never run
    (20, r"stage 'retrain' \(begin=20\): the stage begins at or past the "
     r'end of training \(train_cfg.max_epochs=20\)'),
    # the hook moved away from a schedule written with absolute epochs
    (2, r'param_scheduler\[0\] \(LinearLR, begin=0, end=3\) runs across the '
     'stage boundary'),
])
def test_disagreeing_boundary_stops_before_training(begin, message):
    runner = fake_runner()
    with pytest.raises(ValueError, match=message):
        hook_of(runner, begin=begin).before_train(runner)


def test_schedule_without_restart_is_refused():
    # Move the retrain stage's restart one epoch into the stage: nothing
    # begins at epoch 16 any more.
    runner = fake_runner(**{'param_scheduler.2.begin': 1,
                            'param_scheduler.2.end': 2})
    with pytest.raises(ValueError, match="stage 'retrain' \\(begin=16\\): no "
                       'by-epoch param_scheduler begins at the stage'):
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
                       r'0.00048, below 0.01 x the peak 0.05'):
        hook_of(runner).check_schedule(runner)
    hook_of(runner, min_restart_ratio=0).check_schedule(runner)


def test_stage_beginning_at_zero_on_a_fresh_run_is_entered():
    runner = fake_runner()
    hook = hook_of(runner, begin=0, trainable=('head.fc', ))
    hook.before_train(runner)  # checks pass; nothing switched yet
    assert hook.current == 0
    runner.optim_wrapper.optimizer.state[runner.model.head.fc.weight] = {
        'momentum_buffer': torch.ones(3, 4)}
    hook.before_train_epoch(runner)
    assert hook.current == 1
    message = runner.logger.messages[-1]
    assert "entering stage 'retrain' at epoch 1 (begin 0)" in message
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
    assert hook2.current == 1 and resumed.model.head.mode == 'retrain'
    assert torch.equal(resumed.model.head.fc.weight, model.head.fc.weight)
    assert "resumed in stage 'retrain' at epoch 18" in \
        resumed.logger.messages[-1]
    assert type(resumed.train_loop.dataloader.sampler).__name__ == \
        'ClassAwareSampler'


def test_resume_at_the_begin_crosses_like_an_uninterrupted_run():
    """A checkpoint written at the end of stage 1 (epoch 16 of the
    runner) has not crossed the boundary: resuming from it crosses, with
    re-initialisation, in the first epoch's ``before_train_epoch``."""
    runner = fake_runner(epoch=16)
    hook = hook_of(runner, trainable=('head', ), reinit=('head.fc', ))
    hook.before_train(runner)
    assert hook.current == 0
    before = runner.model.head.fc.weight.detach().clone()
    hook.before_train_epoch(runner)
    assert hook.current == 1
    assert not torch.equal(runner.model.head.fc.weight, before)
    assert "entering stage 'retrain' at epoch 17" in \
        runner.logger.messages[-1]


def test_the_stage_follows_the_epoch_not_the_weights():
    """``load_from`` weights of a finished run (head left in a later mode)
    start in stage 0, with a warning; the head mode is set from the
    epoch."""
    runner = fake_runner(epoch=0)
    runner.model.head.set_mode('router')  # as restored from the buffers
    # (a trainable prefix of the stand-in model: every stage's prefixes
    # are checked against the model before training)
    hook = hook_of(runner, trainable=('head.fc', ))
    hook.before_train(runner)
    assert runner.model.head.mode == 'experts' and hook.current == 0
    assert "left the head in mode 'router'; it is set to 'experts'" in \
        runner.logger.messages[-1]
    assert all(p.requires_grad for p in runner.model.parameters())
    hook.before_train_epoch(runner)  # epoch 0: nothing changes
    assert runner.model.head.mode == 'experts' and hook.current == 0


def test_a_later_stage_without_sampler_uses_the_configs_own():
    runner = fake_runner(epoch=16)
    stages = [dict(name='retrain', begin=16, trainable=('head', ),
                   sampler=dict(type='ClassAwareSampler'), batch_size=30),
              dict(name='last', begin=18, trainable=('head.fc', ))]
    hook = StageSwitchHook(stages=stages, min_restart_ratio=0)
    hook.before_train_epoch(runner)
    assert runner.train_loop.dataloader.batch_size == 30
    runner.epoch = 18
    runner.cfg.train_dataloader.batch_size = 7
    hook.before_train_epoch(runner)
    assert hook.current == 2
    assert runner.train_loop.dataloader.batch_size == 7
    assert "entering stage 'last' at epoch 19 (begin 18)" in \
        runner.logger.messages[-1]


def test_freeze_for_stage_is_the_hooks_freezing():
    model = TinyModel()
    kept = freeze_for_stage(model, 'head')
    assert [n for n, _ in kept] == ['head.fc.weight', 'head.fc.bias']
    assert not model.backbone.weight.requires_grad
    with pytest.raises(ValueError, match=r"no parameter name starts with "
                       r"any of \['head.nope'\]"):
        freeze_for_stage(model, ('head.nope', ))


def test_bad_switch_arguments_name_the_value():
    runner = fake_runner(epoch=16)
    with pytest.raises(ValueError, match="reinit names 'head.nope'"):
        hook_of(runner, trainable=('head', ),
                reinit=('head.nope', )).before_train_epoch(runner)
    runner.model.head = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="head_mode='retrain' but the head "
                       r"\(Linear\) is not a StagedHead"):
        hook_of(runner, trainable=('head', )).before_train_epoch(runner)
    with pytest.raises(ValueError, match=r"stages\[0\].begin=True "
                       r"\('retrain'\) must be an epoch index"):
        StageSwitchHook(stages=[dict(name='retrain', begin=True)])
    with pytest.raises(ValueError, match=r"stages\[1\].begin=3 \('b'\) must "
                       r"be after the previous stage's begin=5"):
        StageSwitchHook(stages=[dict(name='a', begin=5),
                                dict(name='b', begin=3)])
    with pytest.raises(ValueError, match=r"stages\[0\] has unknown field\(s\) "
                       r"\['cornerstone'\]"):
        StageSwitchHook(stages=[dict(name='a', begin=5, cornerstone=5)])


def test_scheduler_stage_references_resolve_once():
    stages = [dict(name='retrain', begin=16)]
    scheds = [
        dict(type='CosineAnnealingLR', stage='representation', begin=2),
        dict(type='RestartLinearLR', stage='retrain', end=2),
        dict(type='CosineAnnealingLR', stage=1, begin=1),
        dict(type='LinearLR', begin=0, end=3),
    ]
    stages = StageRecipe.parse(stages)
    resolved = resolve_param_schedulers(scheds, stages, 20)
    assert [(s['begin'], s['end']) for s in resolved] == [
        (2, 16), (16, 18), (17, 20), (0, 3)]
    assert not any('stage' in s for s in resolved)
    assert resolve_param_schedulers(resolved, stages, 20) == resolved
    cfg = Config.fromfile(str(QUICK))
    once = resolve_stage_schedule(cfg)
    assert resolve_stage_schedule(once).param_scheduler == \
        once.param_scheduler
    assert any('stage' in s for s in cfg.param_scheduler)  # input untouched
    with pytest.raises(ValueError, match=r"param_scheduler\[0\] "
                       r"\(LinearLR, stage='nope'\): no such stage; the "
                       r"timeline is \['representation', 'retrain'\]"):
        resolve_param_schedulers([dict(type='LinearLR', stage='nope')],
                                 stages, 20)
    with pytest.raises(ValueError, match=r'begin=0, end=5 are epochs '
                       r'relative to the stage, which lasts 4 epochs'):
        resolve_param_schedulers(
            [dict(type='LinearLR', stage='retrain', end=5)], stages, 20)


def test_runner_from_cfg_resolves_a_raw_config(tmp_path):
    """``Runner.from_cfg`` of the config as loaded (stage references
    resolved once, by ``resolve_stage_schedule``, as tools/train.py does)
    builds the same absolute schedule as tools/train.py."""
    from mmpretrain.registry import RUNNERS

    import shike_mm  # noqa: F401
    cfg = resolve_stage_schedule(Config.fromfile(str(QUICK)))
    cfg.work_dir = str(tmp_path)
    runner = RUNNERS.build(cfg)
    assert type(runner).__name__ == 'DeviceAwareRunner'
    expected = [(0, 3), (2, 16), (16, 18), (17, 20)]
    assert [(s['begin'], s['end'])
            for s in runner.cfg.param_scheduler] == expected
    assert [(s['begin'], s['end'])
            for s in runner.param_schedulers] == expected


def test_the_removed_hook_points_at_the_new_one():
    cfg = Config.fromfile(str(QUICK))
    cfg.custom_hooks = [dict(type='DecoupledRetrainHook', cornerstone=16)]
    with pytest.raises(ValueError, match=r'custom_hooks\[0\]: '
                       'DecoupledRetrainHook was replaced by StageSwitchHook'):
        resolve_stage_schedule(cfg)


def test_boundary_map_keeps_boundaries_apart():
    assert boundary_map([0, 2, 3, 16, 17, 18, 20], 20, 40) == {
        0: 0, 2: 4, 3: 6, 16: 32, 17: 34, 18: 36, 20: 40}
    mapped = boundary_map([0, 5, 6, 180, 185, 186, 200], 200, 20)
    assert list(mapped.values()) == [0, 1, 2, 17, 18, 19, 20]
    with pytest.raises(ValueError, match='need at least 6 epochs'):
        boundary_map([0, 2, 3, 16, 17, 18, 20], 20, 5)


def test_rescale_schedule_moves_every_epoch_value_together():
    from mmpretrain.registry import PARAM_SCHEDULERS
    cfg = Config.fromfile(str(QUICK))
    # an epoch in the model, declared by the loss (LDAMLoss.epoch_valued_args)
    cfg.model.head.retrain_loss = dict(type='LDAMLoss', drw_epoch=16)
    scaled = rescale_schedule(cfg, 60)
    assert cfg.train_cfg.max_epochs == 20  # the input is untouched
    assert scaled.train_cfg.max_epochs == 60
    assert scaled.custom_hooks[0].stages[0].begin == 48
    assert scaled.model.head.retrain_loss.drw_epoch == 48
    assert [(s.begin, s.end) for s in scaled.param_scheduler] == [
        (0, 9), (6, 48), (48, 54), (51, 60)]
    wrapper = build_optim_wrapper(nn.Linear(1, 1), scaled.optim_wrapper)
    built = [PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
             for s in scaled.param_scheduler]
    assert [getattr(s, 'T_max', None) for s in built] == [None, 42, None, 9]
    assert scaled.train_cfg.val_interval == 12
    # The rescaled schedule passes the hook's checks.
    runner = fake_runner()
    runner.cfg, runner.max_epochs = scaled, 60
    StageSwitchHook(**{k: v for k, v in scaled.custom_hooks[0].items()
                       if k != 'type'}).check_schedule(runner)


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
