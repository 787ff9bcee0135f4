# Copyright (c) shike-mm contributors. All rights reserved.
"""Hooks used only by the end-to-end tests (imported through the configs'
``custom_imports``)."""
import os
import signal

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class KillAfterEpochHook(Hook):
    """SIGKILL the process right after the checkpoint of ``epoch`` (1-based)
    has been written: a hard kill, no clean-up, like a pre-empted job."""

    priority = 'LOWEST'  # after CheckpointHook (VERY_LOW)

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def after_train_epoch(self, runner) -> None:
        if runner.epoch + 1 == self.epoch:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class RankMetricsReportHook(Hook):
    """Print every rank's view of the validation metrics to stdout."""

    def after_val_epoch(self, runner, metrics=None) -> None:
        items = ' '.join(f'{k}={v:.6f}' for k, v in sorted(metrics.items()))
        print(f'RANK_METRICS rank={get_rank()} epoch={runner.epoch} {items}',
              flush=True)
