# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage recipe has one home: the stage list is read once per
``tools/train.py`` run; the value is immutable; a checkpoint is tested in
the mode of the stage its last epoch was trained in; every stage's
prefixes are checked before the first step; epoch-valued arguments are
declared by the components that own them. Here the runs of the tools (in
this process, ``main(argv)``); the others are in
tests/unit/engine/test_stage_recipe.py."""
import pytest

from tests.helpers.inprocess_tools import run_test, run_train


@pytest.fixture
def parses(monkeypatch):
    """The calls of ``StageRecipe.parse`` while the test runs (a list that
    grows by one per call)."""
    from shike_mm.engine.stages.recipe import StageRecipe
    calls = []
    parse = StageRecipe.parse.__func__

    def counted(cls, *args, **kwargs):
        calls.append(1)
        return parse(cls, *args, **kwargs)

    monkeypatch.setattr(StageRecipe, 'parse', classmethod(counted))
    return calls


def test_train_py_reads_the_stage_list_once(tmp_path, cifar_root, parses):
    """A whole two-stage run with --epochs rescaling: one parse; testing
    its checkpoint with the config as written (not rescaled): one parse,
    and the head in the mode of the checkpoint's last stage."""
    from tests.helpers.cifar_runs import CONFIG, EPOCHS, tiny_options
    opts = tiny_options(cifar_root) + ['val_cfg=None', 'val_dataloader=None',
                                       'val_evaluator=None']
    run = run_train([CONFIG, '--work-dir', tmp_path, *EPOCHS,
                     '--cfg-options', *opts])
    assert run.exit_code == 0, run
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.output
    assert (tmp_path / 'epoch_6.pth').is_file()
    assert len(parses) == 1

    parses.clear()
    tested = run_test([CONFIG, tmp_path / 'epoch_6.pth', '--work-dir',
                       tmp_path / 'test', '--cfg-options', *opts,
                       'test_evaluator.many_shot_thr=30',
                       'test_evaluator.few_shot_thr=10'])
    assert tested.exit_code == 0, tested
    assert ("the checkpoint (epoch 6) was trained in stage 'retrain': head "
            "mode 'retrain'") in tested.output
    assert len(parses) == 1


def test_a_typo_in_a_later_stage_stops_before_the_first_step(
        tmp_path, cifar_root):
    from tests.helpers.cifar_runs import CONFIG, EPOCHS, tiny_options
    run = run_train([
        CONFIG, '--work-dir', tmp_path, *EPOCHS, '--cfg-options',
        *tiny_options(cifar_root),
        'custom_hooks.0.stages.0.trainable=head.retrain_clasifiers'])
    assert run.exit_code != 0, run
    assert ("StageSwitchHook stage 'retrain' (begin=3): trainable prefix "
            "'head.retrain_clasifiers' names no parameter of the model"
            ) in run.message, run
    assert 'Epoch(train)' not in run.output
    assert not list(tmp_path.glob('*.pth'))
