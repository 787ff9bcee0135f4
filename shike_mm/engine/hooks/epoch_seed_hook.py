# Copyright (c) shike-mm contributors. All rights reserved.
import functools
import random
from typing import Optional

import numpy as np
import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Re-seed every random number generator at the start of each epoch from
    ``(seed, epoch)``, so that a run resumed at epoch ``e`` draws the same
    random numbers in epoch ``e`` as the uninterrupted run.

    mmengine seeds the generators once, at start-up. After ``--resume`` the
    generators therefore start from that seed again instead of from where
    the interrupted run was, and data augmentation (random crops, flips,
    AutoAugment) and any stochastic layer diverge: the resumed run is a
    different run. With this hook the random stream of epoch ``e`` is a
    function of the seed and ``e`` alone.

    What is re-seeded before each training epoch:

    - Python's ``random``, numpy's global generator and torch's (CPU and
      every CUDA device), with ``seed + epoch * 1000003`` (plus the rank when
      ``diff_rank_seed``);
    - the seed that mmengine's ``worker_init_fn`` gives dataloader worker
      processes, so workers created for the epoch are seeded for it too.
      Workers that outlive an epoch (``persistent_workers=True``) keep
      their own stream; exact resumption then needs
      ``persistent_workers=False`` or ``num_workers=0`` (the hook warns).

    Samplers are not affected: mmengine's and shike-mm's samplers already
    derive their order from ``(seed, epoch)``.

    Args:
        seed (int, optional): Base seed. Defaults to the runner's seed
            (``randomness.seed``).
        diff_rank_seed (bool): Give each rank a different stream. Defaults to
            the runner's ``randomness.diff_rank_seed`` (False).
    """

    priority = 'VERY_HIGH'

    def __init__(self,
                 seed: Optional[int] = None,
                 diff_rank_seed: Optional[bool] = None) -> None:
        self.seed = seed
        self.diff_rank_seed = diff_rank_seed
        self._warned = False

    def epoch_seed(self, runner, epoch: int) -> int:
        """The seed used for ``epoch`` (0-based)."""
        seed = self.seed if self.seed is not None else runner.seed
        diff_rank = self.diff_rank_seed
        if diff_rank is None:
            diff_rank = runner.cfg.get('randomness', {}).get(
                'diff_rank_seed', False)
        seed = int(seed) + epoch * 1000003
        if diff_rank:
            seed += get_rank()
        return seed % (2**32)

    def before_train_epoch(self, runner) -> None:
        seed = self.epoch_seed(runner, runner.epoch)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)  # also seeds every CUDA device
        loader = runner.train_dataloader
        init_fn = getattr(loader, 'worker_init_fn', None)
        if (isinstance(init_fn, functools.partial)
                and 'seed' in init_fn.keywords):
            loader.worker_init_fn = functools.partial(
                init_fn.func, *init_fn.args,
                **dict(init_fn.keywords, seed=seed))
        if (getattr(loader, 'persistent_workers', False)
                and not self._warned):
            runner.logger.warning(
                'EpochSeedHook: persistent dataloader workers keep their own '
                'random state across epochs; set persistent_workers=False '
                'for bit-exact resumption of data augmentation.')
            self._warned = True
