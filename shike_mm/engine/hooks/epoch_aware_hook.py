# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional

from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from ...protocols import EpochAware
from .protocol_receivers import outermost_instances


@HOOKS.register_module()
class EpochAwareHook(Hook):
    """Tell every :class:`~shike_mm.protocols.EpochAware` submodule of the
    model which epoch is about to be trained.

    Calls ``set_epoch(runner.epoch)`` (0-based: the number of finished
    epochs) on the outermost implementers (one inside another, such as
    the LDAM loss inside ``RIDELoss``, hears it from its parent, so once)
    in ``before_train``, which mmengine runs after a resume, so a resumed
    run starts in the phase of the epoch it resumes at, and in
    ``before_train_epoch``. Validation and testing see the phase of the
    last training epoch (a test-only run: the phase before any
    ``set_epoch``, epoch 0; no implementer changes its predictions with
    the epoch).

    It is an entry of the default runtime's ``default_hooks``
    (``epoch_aware``), next to ``ClassCountsHook``: the two hand the model
    what it cannot read from its config. Implementers: ``LDAMLoss`` and
    ``RIDELoss`` (deferred re-weighting).
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self) -> None:
        self.receivers: Optional[List[str]] = None

    def before_train(self, runner) -> None:
        """Set the epoch the run starts (or resumes) at and log who gets
        it."""
        self.receivers = self._push(runner)
        if self.receivers:
            runner.logger.info(
                f'EpochAwareHook: epoch {runner.epoch} handed to '
                f'{", ".join(self.receivers)}.')

    def before_train_epoch(self, runner) -> None:
        """Set the epoch about to be trained."""
        self._push(runner)

    @staticmethod
    def _push(runner) -> List[str]:
        receivers = []
        for name, module in outermost_instances(runner.model, EpochAware):
            module.set_epoch(runner.epoch)
            receivers.append(name)
        return receivers
