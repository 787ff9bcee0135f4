# Copyright (c) shike-mm contributors. All rights reserved.
"""A hook for the tests: Ctrl-C (SIGINT) at a chosen training iteration."""
import os
import signal

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class SigintHook(Hook):
    """Send SIGINT to this process after training iteration ``iteration``
    (1-based, over the run)."""

    priority = 'LOWEST'

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGINT)
