# Copyright (c) shike-mm contributors. All rights reserved.
"""Each stage boundary is written once, in the schedule base that owns it:
moving that one number moves the stage hook and the LR schedulers with it,
the start-of-training checks accept the result, and ``--epochs``
rescaling keeps them together."""
import re

import pytest
from mmengine.config import Config

from shike_mm.engine.hooks import DecoupledRetrainHook
from shike_mm.utils.schedule_scaling import rescale_schedule
from tests.conftest import REPO_ROOT
from tests.test_engine.test_stage_boundary import fake_runner

SCHEDULES = REPO_ROOT / 'configs/_base_/schedules'
# (schedule base, the variable holding the boundary, a leaf that uses it)
BOUNDARIES = [
    ('quick_20e.py', 'cornerstone',
     'shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'),
    ('shike_200e.py', 'cornerstone', 'shike/shike_r32_cifar100-lt-r100.py'),
    ('shike_200e_router.py', 'cornerstone',
     'shike/shike_r32-router_cifar100-lt-r100.py'),
    ('shike_200e_router.py', 'router_epoch',
     'shike/shike_r32-router_cifar100-lt-r100.py'),
    ('ride_200e_router.py', 'cornerstone',
     'ride/ride_r32-3e-router_cifar100-lt-r100.py'),
    ('cifar_lt_200e_step_crt_10e.py', 'cornerstone',
     'baselines/crt_r32_cifar100-lt-r100.py'),
    ('quick_20e_cosine_crt_4e.py', 'cornerstone',
     'baselines/crt_r32_fashion-mnist-lt-r100-1k_20e.py'),
]


def code(text):
    """``text`` without comments."""
    return '\n'.join(line.split('#')[0] for line in text.splitlines())


def boundary(text, variable):
    found = re.findall(rf'^{variable} = (\d+)\s*(?:#.*)?$', text, re.M)
    assert len(found) == 1, (variable, found)
    return int(found[0])


def moved_copy(tmp_path, schedule, variable, new, leaf):
    """The leaf config and its bases, with ``variable`` of ``schedule``
    set to ``new`` (one line changed), in ``tmp_path``."""
    configs = REPO_ROOT / 'configs'
    target = tmp_path / 'configs'
    for path in configs.rglob('*.py'):
        (target / path.relative_to(configs)).parent.mkdir(
            parents=True, exist_ok=True)
        (target / path.relative_to(configs)).write_text(path.read_text())
    edited = target / '_base_/schedules' / schedule
    text = edited.read_text()
    edited.write_text(re.sub(rf'^{variable} = \d+', f'{variable} = {new}',
                             text, flags=re.M))
    return target / leaf


@pytest.mark.parametrize('schedule,variable,leaf', BOUNDARIES)
def test_the_boundary_is_written_once(schedule, variable, leaf):
    text = (SCHEDULES / schedule).read_text()
    value = boundary(text, variable)
    literals = re.findall(rf'\b{value}\b', code(text))
    assert literals == [str(value)], (schedule, variable, literals)


@pytest.mark.parametrize('schedule,variable,leaf', BOUNDARIES)
def test_moving_the_boundary_moves_hook_schedulers_and_epochs(
        tmp_path, schedule, variable, leaf):
    old = boundary((SCHEDULES / schedule).read_text(), variable)
    new = old - 2
    cfg = Config.fromfile(str(moved_copy(tmp_path, schedule, variable, new,
                                         leaf)))
    hooks = [h for h in cfg.custom_hooks
             if h['type'] == 'DecoupledRetrainHook']
    assert new in [h['cornerstone'] for h in hooks]
    assert old not in [h['cornerstone'] for h in hooks]
    begins = [s['begin'] for s in cfg.param_scheduler]
    assert new in begins and old not in begins
    assert not any(s['begin'] < new < s['end'] for s in cfg.param_scheduler)

    for config in (cfg, rescale_schedule(cfg, cfg.train_cfg.max_epochs // 2)):
        runner = fake_runner(epoch=0)
        runner.cfg, runner.max_epochs = config, config.train_cfg.max_epochs
        for hook_cfg in config.custom_hooks:
            if hook_cfg['type'] == 'DecoupledRetrainHook':
                hook_cfg = {k: v for k, v in hook_cfg.items() if k != 'type'}
                DecoupledRetrainHook(**hook_cfg).check_schedule(runner)
    halved = rescale_schedule(cfg, cfg.train_cfg.max_epochs // 2)
    scaled = [h['cornerstone'] for h in halved.custom_hooks
              if h['type'] == 'DecoupledRetrainHook']
    assert halved.get(variable) in scaled
    assert all(c in [s['begin'] for s in halved.param_scheduler]
               for c in scaled)
