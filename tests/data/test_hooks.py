# Copyright (c) shike-mm contributors. All rights reserved.
"""Hooks used only by the end-to-end tests (imported through the configs'
``custom_imports``)."""
import os
import signal
import sys

from mmengine.dist import get_rank
from mmengine.hooks import Hook
from mmpretrain.models import ImageClassifier
from mmpretrain.registry import HOOKS, MODELS


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
        # One write per line: the ranks share stdout, and a separate write
        # of the newline lets another rank's line slip in between.
        sys.stdout.write(
            f'RANK_METRICS rank={get_rank()} epoch={runner.epoch} {items}\n')
        sys.stdout.flush()


@HOOKS.register_module()
class KillAtIterHook(Hook):
    """SIGKILL the process after training iteration ``iteration`` (1-based,
    counted over the run): a hard kill in the middle of an epoch, long
    after the last checkpoint."""

    priority = 'LOWEST'

    def __init__(self, iteration: int) -> None:
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGKILL)


@HOOKS.register_module()
class ScaleLrAtIterHook(Hook):
    """Multiply every learning rate by ``factor`` before training iteration
    ``iteration`` (1-based, over the run): a learning-rate blow-up whose
    step has a finite loss but leaves the weights diverging."""

    priority = 'LOWEST'

    def __init__(self, iteration: int, factor: float) -> None:
        self.iteration = iteration
        self.factor = factor

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if runner.iter + 1 == self.iteration:
            for group in runner.optim_wrapper.optimizer.param_groups:
                group['lr'] *= self.factor


@HOOKS.register_module()
class IterLossReportHook(Hook):
    """Print every rank's raw loss terms of every training iteration to
    stdout at full float precision (the logger smooths them and reports
    rank 0's only)."""

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        items = ' '.join(f'{k}={float(v)!r}'
                         for k, v in sorted(outputs.items())
                         if k.startswith('loss'))
        # one write per line: the ranks share the launcher's stdout
        sys.stdout.write(
            f'ITER_LOSS rank={get_rank()} iter={runner.iter} {items}\n')
        sys.stdout.flush()


@MODELS.register_module()
class Float64ImageClassifier(ImageClassifier):
    """:class:`ImageClassifier` computing in float64 (parameters, buffers
    and the preprocessed inputs).

    Two runs that compute the same thing in a different order (one process
    with batch B, or R processes with B / R) differ by float32 rounding,
    and SGD amplifies that: after a few iterations the losses differ far
    above 1e-5 even when the computation is the same. In float64 the
    rounding differences stay ~1e-12, so a comparison at 1e-5 measures the
    computation, not the rounding.
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.double()

    def extract_feat(self, inputs, stage='neck'):
        return super().extract_feat(inputs.double(), stage)


@HOOKS.register_module()
class KillAfterCheckpointRemovalHook(Hook):
    """SIGKILL the process the instant a checkpoint file has been removed
    (right after ``os.remove`` of a ``.pth`` returns): the worst moment for
    a checkpoint hook that removes the outdated checkpoint first."""

    priority = 'LOWEST'

    def before_train(self, runner) -> None:
        real_remove = os.remove

        def remove(path, *args, **kwargs):
            real_remove(path, *args, **kwargs)
            if str(path).endswith('.pth'):
                os.kill(os.getpid(), signal.SIGKILL)

        os.remove = remove


@HOOKS.register_module()
class DiskFullAtEpochHook(Hook):
    """From epoch ``epoch`` (1-based) on, every file mmengine writes gets
    half its bytes and then ``OSError(ENOSPC)``, as on a full disk."""

    priority = 'LOWEST'

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def before_train_epoch(self, runner) -> None:
        if runner.epoch + 1 != self.epoch:
            return
        import errno

        from mmengine.fileio.backends import LocalBackend

        def put(backend, obj, filepath):
            with open(filepath, 'wb') as f:
                f.write(obj[:len(obj) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC),
                          str(filepath))

        LocalBackend.put = put


@HOOKS.register_module()
class SigtermHook(Hook):
    """Send SIGTERM to this process after training iteration ``iteration``
    (1-based, over the run), or, with ``in_save=True``, while the
    checkpoint of epoch ``epoch`` is being saved."""

    priority = 'LOWEST'

    def __init__(self, iteration: int = 0, epoch: int = 0,
                 in_save: bool = False) -> None:
        self.iteration = iteration
        self.epoch = epoch
        self.in_save = in_save

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        if not self.in_save and runner.iter + 1 == self.iteration:
            os.kill(os.getpid(), signal.SIGTERM)

    def before_save_checkpoint(self, runner, checkpoint) -> None:
        # the epoch checkpoint (the best one has no optimizer state)
        if (self.in_save and 'optimizer' in checkpoint
                and checkpoint['meta']['epoch'] == self.epoch):
            os.kill(os.getpid(), signal.SIGTERM)
