# Copyright (c) shike-mm contributors. All rights reserved.
"""Each stage boundary is written once, as the ``begin`` of a stage of the
StageSwitchHook in the schedule base that declares it: moving that one
number (in the file, or with ``--cfg-options
custom_hooks.0.stages.N.begin=...`` through tools/train.py) moves the
stage, the LR schedulers that refer to it, ``--epochs`` rescaling and the
start-of-training checks together."""
import re
import sys
from types import SimpleNamespace

import pytest
from mmengine.config import Config

from shike_mm.engine.hooks import StageSwitchHook
from shike_mm.engine.stages.checks import _lr_table
from tests.helpers.commands import REPO_ROOT

SCHEDULES = REPO_ROOT / 'configs/_base_/schedules'
# (schedule base, index of the stage in its StageSwitchHook, a leaf using it)
BOUNDARIES = [
    ('quick_20e.py', 0, 'shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'),
    ('shike_200e.py', 0, 'shike/shike_r32_cifar100-lt-r100.py'),
    ('shike_200e_router.py', 0, 'shike/shike_r32-router_cifar100-lt-r100.py'),
    ('shike_200e_router.py', 1, 'shike/shike_r32-router_cifar100-lt-r100.py'),
    ('shike_400e.py', 0, 'shike/shike_r50_imagenet-lt-400e.py'),
    ('shike_finetune_50e.py', 0, 'shike/shike_r152_places-lt.py'),
    ('ride_200e_router.py', 0, 'ride/ride_r32-3e-router_cifar100-lt-r100.py'),
    ('cifar_lt_200e_step_crt_10e.py', 0,
     'baselines/crt_r32_cifar100-lt-r100.py'),
    ('quick_20e_cosine_crt_4e.py', 0,
     'baselines/crt_r32_fashion-mnist-lt-r100-1k_20e.py'),
]


def code(text):
    """``text`` without comments."""
    return '\n'.join(line.split('#')[0] for line in text.splitlines())


def stage_hook(cfg):
    """``(index in custom_hooks, entry)`` of the StageSwitchHook."""
    found = [(i, h) for i, h in enumerate(cfg.custom_hooks)
             if h['type'] == 'StageSwitchHook']
    assert len(found) == 1, cfg.custom_hooks
    return found[0]


def declared_begin(schedule, index):
    _, hook = stage_hook(Config.fromfile(str(SCHEDULES / schedule)))
    return hook['stages'][index]['begin']


def train_py_config(monkeypatch, config, *argv):
    """The config as tools/train.py builds it for the runner."""
    from tools import train
    monkeypatch.setenv('LOCAL_RANK', '0')
    monkeypatch.setattr(sys, 'argv', [
        'tools/train.py', str(config), '--work-dir', 'unused', *argv])
    args = train.parse_args()
    return train.merge_args(Config.fromfile(args.config), args)


def moved_copy(tmp_path, schedule, old, new, leaf):
    """The leaf config and its bases, with the stage ``begin=old`` of
    ``schedule`` set to ``new`` (one number changed), in ``tmp_path``."""
    configs = REPO_ROOT / 'configs'
    target = tmp_path / 'configs'
    for path in configs.rglob('*.py'):
        (target / path.relative_to(configs)).parent.mkdir(
            parents=True, exist_ok=True)
        (target / path.relative_to(configs)).write_text(path.read_text())
    edited = target / '_base_/schedules' / schedule
    text, count = re.subn(rf'\bbegin={old}\b', f'begin={new}',
                          edited.read_text())
    assert count == 1, (schedule, old, count)
    edited.write_text(text)
    return target / leaf


def check(cfg):
    """The start-of-training checks of the config's StageSwitchHook."""
    _, entry = stage_hook(cfg)
    hook = StageSwitchHook(**{k: v for k, v in entry.items() if k != 'type'})
    hook.check_schedule(
        SimpleNamespace(cfg=cfg, max_epochs=cfg.train_cfg.max_epochs))
    return hook


def test_no_schedule_keeps_a_boundary_variable():
    for path in SCHEDULES.glob('*.py'):
        cfg = Config.fromfile(str(path))
        assert not {'cornerstone', 'router_epoch'} & set(cfg.keys()), path


@pytest.mark.parametrize('schedule,index,leaf', BOUNDARIES)
def test_the_boundary_is_written_once(schedule, index, leaf):
    value = declared_begin(schedule, index)
    literals = re.findall(rf'\b{value}\b', code(
        (SCHEDULES / schedule).read_text()))
    assert literals == [str(value)], (schedule, index, literals)


@pytest.mark.parametrize('how', ['file', 'cfg-options'])
@pytest.mark.parametrize('schedule,index,leaf', BOUNDARIES)
def test_moving_the_begin_moves_schedulers_epochs_and_checks(
        monkeypatch, tmp_path, schedule, index, leaf, how):
    old = declared_begin(schedule, index)
    new = old - 2
    original = train_py_config(monkeypatch, REPO_ROOT / 'configs' / leaf)
    if how == 'file':
        config, argv = moved_copy(tmp_path, schedule, old, new, leaf), []
    else:
        position, _ = stage_hook(original)
        config = REPO_ROOT / 'configs' / leaf
        argv = ['--cfg-options',
                f'custom_hooks.{position}.stages.{index}.begin={new}']
    cfg = train_py_config(monkeypatch, config, *argv)

    # the stage moved, and the schedulers with it
    _, hook = stage_hook(cfg)
    assert hook['stages'][index]['begin'] == new
    begins = [s['begin'] for s in cfg.param_scheduler]
    assert new in begins and old not in begins
    assert not any(s['begin'] < new < s['end'] for s in cfg.param_scheduler)
    assert not any('stage' in s for s in cfg.param_scheduler)
    check(cfg)

    # the LR table keeps its shape: the stage restarts at its new begin
    # exactly as at the old one, through the stage's restart ramp
    epochs = cfg.train_cfg.max_epochs
    assert epochs == original.train_cfg.max_epochs
    lrs = _lr_table(cfg.optim_wrapper, cfg.param_scheduler, epochs)
    reference = _lr_table(original.optim_wrapper, original.param_scheduler,
                          epochs)
    ramp = min(s['end'] for s in original.param_scheduler
               if s['begin'] == old) - old
    assert lrs[new:new + ramp] == reference[old:old + ramp]
    assert lrs[new - 1] < lrs[new]  # the restart is at the new begin
    if how == 'file':  # one number in the file = one --cfg-options
        position, _ = stage_hook(original)
        assert cfg.to_dict() | {'work_dir': None} == train_py_config(
            monkeypatch, REPO_ROOT / 'configs' / leaf, '--cfg-options',
            f'custom_hooks.{position}.stages.{index}.begin={new}'
        ).to_dict() | {'work_dir': None}

    # --epochs rescales the moved timeline; its checks still pass
    halved = train_py_config(monkeypatch, config, *argv, '--epochs',
                             str(epochs // 2))
    assert halved.train_cfg.max_epochs == epochs // 2
    stages = check(halved).stages
    scaled = stages[index].begin
    assert scaled < epochs // 2
    assert scaled in [s['begin'] for s in halved.param_scheduler]
    assert not any(s['begin'] < st.begin < s['end']
                   for s in halved.param_scheduler for st in stages)
