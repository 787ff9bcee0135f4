# Copyright (c) shike-mm contributors. All rights reserved.
"""Corrupt data files and wrong loss settings give errors naming the file,
field and value. Here the refusals of ``tools/train.py`` (run in this
process, ``main(argv)``); the ones of single components are in
tests/unit/reliability/test_bad_inputs.py."""

import pytest

from tests.helpers.inprocess_tools import run_train
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def test_unknown_top_level_cfg_option_suggests_nearest(tmp_path, tiny_root):
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                     *tiny_data_options(tiny_root), 'traincfg.max_epochs=2'])
    assert run.raised(ValueError), run
    assert ("ValueError: --cfg-options traincfg.max_epochs: the config has "
            "no top-level entry 'traincfg'; did you mean 'train_cfg' "
            '(train_cfg.max_epochs)?') in run.message
    assert 'Epoch(train)' not in run.output


SHIKE_QUICK = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'


def test_num_experts_fraction_named_by_train_tool(tmp_path):
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--cfg-options',
                     'model.backbone.num_experts=2.5'])
    assert run.exit_code != 0, run
    assert ('SHIKEResNet: num_experts=2.5 (model.backbone.num_experts in a '
            'config) is not valid: it must be a whole number >= 1'
            ) in run.message, run
    assert 'cannot be interpreted as an integer' not in run.shown


@pytest.mark.parametrize('option,named', [
    ('custom_hooks.0.stages.0.begin=-1', "StageSwitchHook stage 'retrain' "
     'begin=-1 (custom_hooks.0.stages.0.begin)'),
])
def test_negative_stage_begin_with_epochs_names_the_field(
        tmp_path, option, named):
    """It used to be mapped as an epoch boundary: 'cannot rescale a
    20-epoch schedule to 4 epochs' (with --epochs 10 it silently became
    epoch 0)."""
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--epochs', '4',
                     '--cfg-options', option])
    assert run.raised(ValueError), run
    assert (f'ValueError: {named} is not valid: it must be a whole number '
            '>= 0 (a 0-based epoch index, below train_cfg.max_epochs=20 to '
            'take effect)') in run.message
    assert 'cannot rescale' not in run.shown


def test_boundary_variable_is_gone(tmp_path):
    """The stage boundary is the hook's stage ``begin`` only: the former
    config variable is an unknown entry, refused by name."""
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--cfg-options',
                     'cornerstone=5'])
    assert run.exit_code != 0, run
    assert ("--cfg-options cornerstone: the config has no top-level entry "
            "'cornerstone'") in run.message, run
