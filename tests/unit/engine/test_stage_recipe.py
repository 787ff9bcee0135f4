# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage recipe has one home: the stage list is read once per
``tools/train.py`` run; the value is immutable; a checkpoint is tested in
the mode of the stage its last epoch was trained in; every stage's
prefixes are checked before the first step; epoch-valued arguments are
declared by the components that own them. The cases that start a process or
compile are in tests/integration/engine/test_stage_recipe.py."""
import dataclasses
import re

import pytest
import torch.nn as nn
from mmengine.config import Config

from shike_mm.engine.hooks import StageSwitchHook
from shike_mm.engine.stages import (StageRecipe, check_recipe_fits_model,
                                    rescale_schedule, resolve_stage_schedule,
                                    stage_recipe_of)
from tests.helpers.commands import REPO_ROOT
from tests.helpers.stage_fakes import QUICK, TinyModel, fake_runner

RIDE = REPO_ROOT / 'configs/ride/ride_r32-3e_fashion-mnist-lt-r100-1k_20e.py'
PAGE = REPO_ROOT / 'docs' / 'adding_a_method.md'


def test_the_recipe_is_one_immutable_value():
    cfg = resolve_stage_schedule(Config.fromfile(str(QUICK)))
    entry = cfg.custom_hooks[0]
    assert entry.resolved is True
    recipe = stage_recipe_of(cfg)
    assert recipe == StageRecipe.parse(
        Config.fromfile(str(QUICK)).custom_hooks[0].stages)
    stage = recipe.stages[0]
    assert (stage.name, stage.begin, stage.trainable, stage.head_mode) == (
        'retrain', 16, ('head.retrain_classifiers', ), 'retrain')
    with pytest.raises(dataclasses.FrozenInstanceError):
        stage.begin = 3
    # the hook takes the resolved value as it is
    hook = StageSwitchHook(**{k: v for k, v in entry.items() if k != 'type'})
    assert hook.recipe == recipe
    # reading a resolved config again does not parse it again
    calls = []
    parse = StageRecipe.parse.__func__
    try:
        StageRecipe.parse = classmethod(
            lambda cls, *a, **k: calls.append(1) or parse(cls, *a, **k))
        again = resolve_stage_schedule(cfg)
        scaled = rescale_schedule(cfg, 40)
    finally:
        StageRecipe.parse = classmethod(parse)
    assert calls == []
    assert stage_recipe_of(again) == recipe
    assert stage_recipe_of(scaled).stages[0].begin == 32
    with pytest.raises(ValueError, match=r'custom_hooks\[0\] '
                       r'\(StageSwitchHook\) is not resolved'):
        stage_recipe_of(Config.fromfile(str(QUICK)))


class _Checkpoint:
    """A checkpoint's meta after ``epoch`` finished epochs."""

    @staticmethod
    def at(epoch, timeline=None):
        meta = dict(epoch=epoch)
        if timeline is not None:
            meta['stage_timeline'] = timeline
        return dict(meta=meta)


def _tested_mode(hook, checkpoint):
    runner = fake_runner()
    runner.model.head.set_mode('router')  # whatever the weights said
    hook.after_load_checkpoint(runner, checkpoint)
    hook.before_test(runner)
    return runner.model.head.mode, runner.logger.messages


def test_a_checkpoint_is_tested_in_its_last_stage():
    runner = fake_runner()
    hook = StageSwitchHook(**{
        k: v for k, v in runner.cfg.custom_hooks[0].items() if k != 'type'})
    # the config's timeline (retrain from epoch 16 of 20)
    assert _tested_mode(hook, _Checkpoint.at(16))[0] == 'experts'
    mode, messages = _tested_mode(hook, _Checkpoint.at(17))
    assert mode == 'retrain'
    assert messages == ["StageSwitchHook: the checkpoint (epoch 17) was "
                        "trained in stage 'retrain': head mode 'retrain'."]
    # the timeline recorded in the checkpoint wins (a run trained with
    # --epochs 6: retrain from epoch 3), whatever the testing config says
    recorded = [dict(name='retrain', begin=3, head_mode='retrain')]
    assert _tested_mode(hook, _Checkpoint.at(6, recorded))[0] == 'retrain'
    assert _tested_mode(hook, _Checkpoint.at(3, recorded))[0] == 'experts'
    # the hook records it when saving
    saved = dict(meta={})
    hook.before_save_checkpoint(runner, saved)
    assert saved['meta']['stage_timeline'] == [
        dict(name='retrain', begin=16, head_mode='retrain')]
    # a training run decides by the epoch: the loaded stage is dropped
    hook = StageSwitchHook(stages=[dict(name='retrain', begin=16,
                                        trainable=('head.fc', ))])
    runner = fake_runner(epoch=0)
    hook.after_load_checkpoint(runner, _Checkpoint.at(20))
    hook.before_train(runner)
    hook.before_val(runner)
    assert runner.model.head.mode == 'experts'


def test_every_stage_is_checked_against_the_model():
    model = TinyModel()
    good = dict(name='a', begin=2, trainable=('head.fc', ))
    check_recipe_fits_model(StageRecipe.parse([good]), model)
    for bad, message in [
        (dict(trainable=('head.fc', 'backbone.weigth')),
         r"stage 'b' \(begin=5\): trainable prefix 'backbone.weigth' "
         'names no parameter'),
        (dict(reinit=('head.fx', )), r"stage 'b' \(begin=5\): reinit "
         "names 'head.fx', which is not a module"),
        (dict(head_mode='route'), r"stage 'b' \(begin=5\): "
         "head_mode='route' "
         r"is not a mode of TinyHead \(modes: \['experts', 'retrain', "
         r"'router'\]\)"),
    ]:
        last = dict(dict(name='b', begin=5, trainable=('head', )), **bad)
        with pytest.raises(ValueError, match=message):
            check_recipe_fits_model(StageRecipe.parse([good, last]), model)
    model.head = nn.Linear(4, 3)
    with pytest.raises(ValueError, match="stage 'a' .*head_mode='retrain' "
                       r'but the head \(Linear\) is not a StagedHead'):
        check_recipe_fits_model(
            StageRecipe.parse([dict(good, trainable=('head', ))]), model)


def test_epoch_valued_arguments_are_declared_by_their_owners():
    from mmpretrain.registry import MODELS

    import shike_mm  # noqa: F401
    assert MODELS.get('LDAMLoss').epoch_valued_args == ('drw_epoch', )
    assert MODELS.get('RIDELoss').epoch_valued_args == ('drw_epoch', )
    # RIDE's re-weighting epoch (16 of 20) moves with the schedule
    assert rescale_schedule(Config.fromfile(str(RIDE)),
                            40).model.head.loss.drw_epoch == 32
    # an argument of that name on a class that does not declare it stays
    cfg = Config.fromfile(str(QUICK))
    cfg.model.head.retrain_loss = dict(type='BalancedSoftmaxLoss',
                                       drw_epoch=16)
    assert rescale_schedule(cfg, 40).model.head.retrain_loss.drw_epoch == 16
    # no central list of names remains in the package
    sources = (REPO_ROOT / 'shike_mm').rglob('*.py')
    assert not [p for p in sources if 'EPOCH_KEYS' in p.read_text()]


def test_the_guides_loss_declares_its_start_epoch():
    block = re.findall(r'```python\n(.*?)```', PAGE.read_text(), re.S)[0]
    from mmpretrain.registry import MODELS
    namespace = {}
    exec(compile(block, str(PAGE), 'exec'), namespace)
    try:
        cfg = Config.fromfile(str(QUICK))
        cfg.model.head.loss = dict(type='ClassBalancedCELoss',
                                   start_epoch=16)
        scaled = rescale_schedule(cfg, 40)
        assert scaled.model.head.loss.start_epoch == 32
        assert stage_recipe_of(scaled).stages[0].begin == 32
    finally:
        MODELS._module_dict.pop('ClassBalancedCELoss')
