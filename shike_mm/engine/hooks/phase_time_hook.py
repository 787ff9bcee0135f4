# Copyright (c) shike-mm contributors. All rights reserved.
import time
from typing import Optional

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class PhaseTimeHook(Hook):
    """Log how much wall time a run spends training and how much validating.

    Validation can be a large part of a short run: the quickstart validates
    10,000 test images every 4 epochs on 2,478 training images per epoch.
    After every validation and at the end of the run this hook logs the
    seconds of that validation and the totals so far, e.g.::

        time: validation 9.1 s (10000 images); so far training 96.0 s
        (4 epochs, 24.0 s/epoch), validation 9.1 s (8.7 % of the run);
        train_cfg.val_interval sets how often to validate

    Training time is from the start of each training epoch to the end of
    its ``after_train_epoch`` hooks (data loading, steps, logging and the
    epoch's checkpoint included); validation time from ``before_val`` to
    ``after_val`` (data loading, inference, metrics and the best-checkpoint
    save). How often to validate is the config's ``train_cfg.val_interval``
    (``tools/train.py ... --cfg-options train_cfg.val_interval=N``); it
    changes neither training nor the final model, only which epochs are
    evaluated (and so which one ``save_best`` can pick).
    """

    # after_train_epoch after the checkpoint hook; before_train_epoch last
    priority = 'LOWEST'

    def __init__(self) -> None:
        self.train_time = 0.0
        self.val_time = 0.0
        self.train_epochs = 0
        self.val_runs = 0
        self._start: Optional[float] = None

    def before_train_epoch(self, runner) -> None:
        self._start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        if self._start is not None:
            self.train_time += time.perf_counter() - self._start
            self.train_epochs += 1
            self._start = None

    def before_val(self, runner) -> None:
        self._start = time.perf_counter()

    def after_val(self, runner) -> None:
        if self._start is None:
            return
        seconds = time.perf_counter() - self._start
        self._start = None
        self.val_time += seconds
        self.val_runs += 1
        dataset = getattr(runner.val_loop.dataloader, 'dataset', None)
        images = f' ({len(dataset)} images)' if dataset is not None else ''
        runner.logger.info(f'time: validation {seconds:.1f} s{images}; so '
                           f'far {self.summary()}; train_cfg.val_interval '
                           'sets how often to validate')

    def after_run(self, runner) -> None:
        if self.train_epochs:
            runner.logger.info(f'time: {self.summary()}')

    def summary(self) -> str:
        """Totals so far, as logged."""
        total = self.train_time + self.val_time
        share = 100 * self.val_time / total if total > 0 else 0.0
        per_epoch = self.train_time / max(self.train_epochs, 1)
        return (f'training {self.train_time:.1f} s ({self.train_epochs} '
                f'epochs, {per_epoch:.1f} s/epoch), validation '
                f'{self.val_time:.1f} s ({self.val_runs} runs, {share:.1f} % '
                'of the run)')
