# Copyright (c) shike-mm contributors. All rights reserved.
"""EpochSeedHook with real dataloader worker processes: the random numbers
drawn inside workers in epoch e depend on (seed, e) only, so a resumed run
replays them, and they differ from epoch to epoch."""
import logging
from types import SimpleNamespace

import numpy as np
import torch
from mmengine.runner import Runner

from shike_mm.engine.hooks import EpochSeedHook


class RandomDraws(torch.utils.data.Dataset):
    """Each item is a number drawn from the worker's global numpy RNG, as
    a random augmentation would draw it."""

    def __len__(self):
        return 8

    def __getitem__(self, idx):
        return np.random.random()


def build_loader():
    return Runner.build_dataloader(
        dict(dataset=RandomDraws(), batch_size=2, num_workers=2,
             persistent_workers=False,
             sampler=dict(type='DefaultSampler', shuffle=False),
             collate_fn=dict(type='default_collate')),
        seed=0)


def epoch_draws(loader, epoch, hook=None):
    runner = SimpleNamespace(seed=0, cfg=dict(), epoch=epoch,
                             train_dataloader=loader,
                             logger=logging.getLogger('epoch-seed-test'))
    if hook is not None:
        hook.before_train_epoch(runner)
    return torch.cat(list(loader)).tolist()


def test_worker_draws_depend_on_seed_and_epoch_only():
    hook = EpochSeedHook()
    first = epoch_draws(build_loader(), 3, hook)
    # A fresh loader (a resumed run) replays epoch 3 exactly ...
    assert epoch_draws(build_loader(), 3, EpochSeedHook()) == first
    # ... and another epoch draws other numbers.
    other = epoch_draws(build_loader(), 4, hook)
    assert len(set(other) & set(first)) == 0
    assert len(first) == len(other) == 8


def test_without_the_hook_every_epoch_repeats_itself():
    """What the hook fixes: mmengine seeds non-persistent workers from the
    same seed every epoch, so each epoch repeats the previous one's
    augmentation."""
    loader = build_loader()
    assert epoch_draws(loader, 0) == epoch_draws(loader, 1)
