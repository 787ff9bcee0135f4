# Copyright (c) shike-mm contributors. All rights reserved.
"""Corrupt data files and wrong loss settings give errors naming the file,
field and value. Here the cases that start a process or compile; the in-
process ones are in tests/unit/reliability/test_bad_inputs.py."""

import pytest


def test_unknown_top_level_cfg_option_suggests_nearest(
        tmp_path, tiny_root, python):
    from tests.helpers.commands import run_command
    from tests.helpers.tiny_runs import (TINY_CONFIG, tiny_data_options)
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        tmp_path, '--cfg-options',
                        *tiny_data_options(tiny_root),
                        'traincfg.max_epochs=2'])
    assert proc.returncode != 0
    assert ("ValueError: --cfg-options traincfg.max_epochs: the config has "
            "no top-level entry 'traincfg'; did you mean 'train_cfg' "
            '(train_cfg.max_epochs)?') in proc.stdout
    assert 'Epoch(train)' not in proc.stdout


SHIKE_QUICK = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'


def test_num_experts_fraction_named_by_train_tool(tmp_path, python):
    from tests.helpers.commands import run_command
    proc = run_command([python, 'tools/train.py', SHIKE_QUICK, '--work-dir',
                        tmp_path, '--cfg-options',
                        'model.backbone.num_experts=2.5'])
    assert proc.returncode != 0
    assert ('SHIKEResNet: num_experts=2.5 (model.backbone.num_experts in a '
            'config) is not valid: it must be a whole number >= 1'
            ) in proc.stdout
    assert 'cannot be interpreted as an integer' not in proc.stdout


@pytest.mark.parametrize('option,named', [
    ('custom_hooks.0.stages.0.begin=-1', "StageSwitchHook stage 'retrain' "
     'begin=-1 (custom_hooks.0.stages.0.begin)'),
])
def test_negative_stage_begin_with_epochs_names_the_field(
        tmp_path, python, option, named):
    """It used to be mapped as an epoch boundary: 'cannot rescale a
    20-epoch schedule to 4 epochs' (with --epochs 10 it silently became
    epoch 0)."""
    from tests.helpers.commands import run_command
    proc = run_command([python, 'tools/train.py', SHIKE_QUICK, '--work-dir',
                        tmp_path, '--epochs', '4', '--cfg-options', option])
    assert proc.returncode != 0
    assert (f'ValueError: {named} is not valid: it must be a whole number '
            '>= 0 (a 0-based epoch index, below train_cfg.max_epochs=20 to '
            'take effect)') in proc.stdout
    assert 'cannot rescale' not in proc.stdout


def test_boundary_variable_is_gone(tmp_path, python):
    """The stage boundary is the hook's stage ``begin`` only: the former
    config variable is an unknown entry, refused by name."""
    from tests.helpers.commands import run_command
    proc = run_command([python, 'tools/train.py', SHIKE_QUICK, '--work-dir',
                        tmp_path, '--cfg-options', 'cornerstone=5'])
    assert proc.returncode != 0
    assert ("--cfg-options cornerstone: the config has no top-level entry "
            "'cornerstone'") in proc.stdout
