# Copyright (c) shike-mm contributors. All rights reserved.
"""The param_scheduler list of the SHIKE configs, stepped epoch by epoch
against the per-epoch learning rate of the reference implementation's
CIFAR-100-LT run (github.com/jinyan-06/SHIKE; docs/reproduction.md)."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tests.helpers.commands import REPO_ROOT


def reference_cifar_lr(epoch):
    """The per-epoch LR of the reference CIFAR-100-LT run, written from
    docs/reproduction.md, not from the config."""
    if epoch <= 5:
        return 0.025 * (epoch + 1)
    if epoch < 180:
        return 0.15 * (1 + math.cos(math.pi * (epoch - 5) / 175)) / 2
    if epoch <= 185:
        return 0.0375 + 0.0125 * (epoch - 180)
    return 0.1 * (1 + math.cos(math.pi * (epoch - 185) / 15)) / 2


def epoch_lrs(config, epochs):
    import shike_mm  # noqa: F401
    from mmpretrain.registry import PARAM_SCHEDULERS

    from shike_mm.engine.stages import resolve_stage_schedule
    cfg = resolve_stage_schedule(Config.fromfile(str(REPO_ROOT / config)))
    model = torch.nn.Linear(2, 2)
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optim_wrapper))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(epochs):
        lrs.append(optim_wrapper.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return cfg, lrs


@pytest.mark.parametrize('config', [
    'configs/shike/shike_r32_cifar100-lt-r100.py',
    'configs/shike/shike_r32_cifar100-lt-r50.py',
    'configs/shike/shike_r32_cifar10-lt-r100.py',
])
def test_cifar_lr_table(config):
    cfg, lrs = epoch_lrs(config, 200)
    assert cfg.train_cfg.max_epochs == 200
    for epoch, lr in enumerate(lrs):
        assert lr == pytest.approx(reference_cifar_lr(epoch), abs=1e-6), epoch
    # Check values read off the reference run.
    for epoch, value in {6: 0.14999, 174: 4.3465e-04, 179: 1.2085e-05,
                         186: 0.098907, 198: 4.3227e-03,
                         199: 1.0926e-03}.items():
        assert lrs[epoch] == pytest.approx(value, rel=1e-4), epoch


def test_restart_linear_lr_ignores_current_value():
    import shike_mm  # noqa: F401
    from mmpretrain.registry import PARAM_SCHEDULERS
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
    scheduler = PARAM_SCHEDULERS.build(
        dict(type='RestartLinearLR', optimizer=optimizer, start_factor=0.5,
             end_factor=1.0, begin=2, end=5, by_epoch=True))
    seen = []
    for _ in range(7):
        # Something else (a cosine decay) drives the LR to ~0 meanwhile.
        seen.append(optimizer.param_groups[0]['lr'])
        optimizer.param_groups[0]['lr'] = 1e-6
        scheduler.step()
    # epochs 0, 1 untouched (0.2 then 1e-6), 2..4 ramp 0.1, 0.15, 0.2.
    assert seen[0] == pytest.approx(0.2)
    assert seen[1] == pytest.approx(1e-6)
    assert seen[2:5] == pytest.approx([0.1, 0.15, 0.2])
    assert seen[5] == pytest.approx(1e-6)
