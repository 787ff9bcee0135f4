# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage recipe has one home: the stage list is read once per
``tools/train.py`` run; the value is immutable; a checkpoint is tested in
the mode of the stage its last epoch was trained in; every stage's
prefixes are checked before the first step; epoch-valued arguments are
declared by the components that own them. Here the cases that start a
process or compile; the in-process ones are in
tests/unit/engine/test_stage_recipe.py."""
import re
import textwrap


from tests.helpers.commands import check_command, run_command


# Runs a tool (its path the first argument) in this process with
# StageRecipe.parse counted.
COUNTING_LAUNCHER = textwrap.dedent('''
    import atexit, runpy, sys
    from shike_mm.engine.stages.recipe import StageRecipe
    calls = []
    parse = StageRecipe.parse.__func__

    def counted(cls, *args, **kwargs):
        calls.append(1)
        return parse(cls, *args, **kwargs)

    StageRecipe.parse = classmethod(counted)
    atexit.register(lambda: print(f'STAGE_LIST_PARSES={len(calls)}'))
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name='__main__')
''')


def test_train_py_reads_the_stage_list_once(tmp_path, cifar_root, python):
    """A whole two-stage run with --epochs rescaling: one parse; testing
    its checkpoint with the config as written (not rescaled): one parse,
    and the head in the mode of the checkpoint's last stage."""
    from tests.helpers.cifar_runs import CONFIG, EPOCHS, tiny_options
    opts = tiny_options(cifar_root) + ['val_cfg=None', 'val_dataloader=None',
                                       'val_evaluator=None']
    run = check_command([python, '-c', COUNTING_LAUNCHER, 'tools/train.py',
                         CONFIG, '--work-dir', tmp_path, *EPOCHS,
                         '--cfg-options', *opts])
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.stdout
    assert (tmp_path / 'epoch_6.pth').is_file()
    assert re.findall(r'STAGE_LIST_PARSES=(\d+)', run.stdout) == ['1']

    tested = check_command([
        python, '-c', COUNTING_LAUNCHER, 'tools/test.py', CONFIG,
        tmp_path / 'epoch_6.pth', '--work-dir', tmp_path / 'test',
        '--cfg-options', *opts, 'test_evaluator.many_shot_thr=30',
        'test_evaluator.few_shot_thr=10'])
    assert ("the checkpoint (epoch 6) was trained in stage 'retrain': head "
            "mode 'retrain'") in tested.stdout
    assert re.findall(r'STAGE_LIST_PARSES=(\d+)', tested.stdout) == ['1']


def test_a_typo_in_a_later_stage_stops_before_the_first_step(
        tmp_path, cifar_root, python):
    from tests.helpers.cifar_runs import CONFIG, EPOCHS, tiny_options
    proc = run_command([
        python, 'tools/train.py', CONFIG, '--work-dir', tmp_path, *EPOCHS,
        '--cfg-options', *tiny_options(cifar_root),
        'custom_hooks.0.stages.0.trainable=head.retrain_clasifiers'])
    assert proc.returncode != 0
    assert ("StageSwitchHook stage 'retrain' (begin=3): trainable prefix "
            "'head.retrain_clasifiers' names no parameter of the model"
            ) in proc.stdout
    assert 'Epoch(train)' not in proc.stdout
    assert not list(tmp_path.glob('*.pth'))
