# Copyright (c) shike-mm contributors. All rights reserved.
"""A stand-in runner for the stage tests: a tiny staged model, a labelled
dataset and the quickstart config's StageSwitchHook, without training."""
import logging
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper
from mmengine.runner import Runner

from shike_mm.engine.hooks import StageSwitchHook
from shike_mm.engine.stages import resolve_stage_schedule
from shike_mm.protocols import StagedHead
from tests.helpers.commands import REPO_ROOT

QUICK = REPO_ROOT / 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
CIFAR = REPO_ROOT / 'configs/shike/shike_r32_cifar100-lt-r100.py'


class TinyHead(StagedHead, nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self._mode = 'experts'

    @property
    def mode(self):
        return self._mode

    @property
    def available_modes(self):
        return ('experts', 'retrain', 'router')

    def set_mode(self, mode):
        self._mode = mode


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
    """A stand-in runner; its config resolved as ``Runner.from_cfg``
    resolves it (stage-relative schedulers to absolute epochs)."""
    cfg = Config.fromfile(str(config))
    cfg.merge_from_dict(cfg_options)
    cfg = resolve_stage_schedule(cfg)
    model = TinyModel()
    wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    loader = torch.utils.data.DataLoader(LabelledSet(), batch_size=10)
    logger = logging.getLogger('stage-boundary-test')
    logger.messages = []
    logger.info = logger.warning = logger.messages.append
    return SimpleNamespace(
        cfg=cfg, epoch=epoch, max_epochs=cfg.train_cfg.max_epochs,
        model=model, optim_wrapper=wrapper, seed=0, logger=logger,
        message_hub=MessageHub.get_instance('stage-boundary-test'),
        train_loop=SimpleNamespace(dataloader=loader, _max_epochs=20,
                                   _max_iters=0),
        build_dataloader=Runner.build_dataloader)


def hook_of(runner, min_restart_ratio=0.01, **stage):
    """The config's StageSwitchHook, its first stage updated by ``stage``."""
    stages = [dict(s) for s in runner.cfg.custom_hooks[0]['stages']]
    stages[0].update(stage)
    return StageSwitchHook(stages=stages, min_restart_ratio=min_restart_ratio)
