# Copyright (c) shike-mm contributors. All rights reserved.
"""Refuse mmpretrain loss modules with an unknown ``reduction`` before the
first step (mmpretrain checks it only when the loss is first called; the
project's own losses check it in their constructors)."""
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS
from torch import nn

LOSS_REDUCTIONS = ('none', 'mean', 'sum')


def check_loss_reductions(model: nn.Module) -> None:
    """Raise if an mmpretrain loss in ``model`` has an unknown reduction.

    Args:
        model (nn.Module): The built model, unwrapped.

    Raises:
        ValueError: naming the module and its ``reduction``.
    """
    for name, module in model.named_modules():
        reduction = getattr(module, 'reduction', None)
        if (isinstance(reduction, str) and reduction not in LOSS_REDUCTIONS
                and type(module).__module__.startswith(
                    'mmpretrain.models.losses')):
            raise ValueError(
                f'model.{name} ({type(module).__name__}): reduction='
                f'{reduction!r} is not one of {LOSS_REDUCTIONS}')


@HOOKS.register_module()
class LossReductionCheckHook(Hook):
    """Run :func:`check_loss_reductions` on the runner's model in
    ``before_run`` (training, validation and testing alike)."""

    priority = 'VERY_HIGH'

    def before_run(self, runner) -> None:
        model = runner.model
        check_loss_reductions(model.module if is_model_wrapper(model)
                              else model)
