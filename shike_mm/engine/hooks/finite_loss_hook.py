# Copyright (c) shike-mm contributors. All rights reserved.
import math
from typing import Dict, List, Optional

import torch
from mmengine.dist import all_reduce, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS


@HOOKS.register_module()
class FiniteLossHook(Hook):
    """Stop training at the first non-finite loss, before it reaches the
    weights, and never write a checkpoint holding non-finite weights.

    mmengine's ``train_step`` runs forward, backward and the optimizer step
    inside the model before any ``after_train_iter`` hook sees the losses,
    so a hook there is one step too late. This hook instead wraps the
    model's ``parse_losses`` (called between forward and backward, for
    plain and DDP-wrapped models alike) with a check of every logged loss
    term. On the first ``nan`` / ``inf`` it raises :class:`FloatingPointError`
    naming the epoch, the iteration and each non-finite term (``loss_ce``,
    ``loss_dkt``, ``loss_mutual``, ``loss_bsce`` ...): backward and the
    optimizer step of that batch never run, and the run ends before the
    epoch's checkpoint, so the last checkpoint written stays the one that
    ``--resume`` picks. Under DDP the flag is summed over the ranks so that
    every rank stops at the same iteration (no rank waits in an all-reduce
    for a rank that has stopped).

    A step with finite loss can still produce non-finite weights (a huge
    learning rate); :meth:`before_save_checkpoint` therefore refuses to save
    a checkpoint whose floating-point tensors are not all finite, naming
    them.

    Cost: one device-to-host sync per iteration (the logger synchronises
    anyway), plus one tiny all-reduce per iteration under DDP.

    Args:
        check_checkpoints (bool): Also check the weights before every
            checkpoint is saved. Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, check_checkpoints: bool = True) -> None:
        self.check_checkpoints = check_checkpoints
        self._where = (0, 0, 0)

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        if getattr(model.parse_losses, 'finite_loss_checked', False):
            return
        original = model.parse_losses

        def parse_losses(losses):
            loss, log_vars = original(losses)
            self.check_losses(log_vars)
            return loss, log_vars

        parse_losses.finite_loss_checked = True
        model.parse_losses = parse_losses

    def before_train_iter(self, runner, batch_idx: int,
                          data_batch=None) -> None:
        self._where = (runner.epoch, batch_idx, runner.iter)

    def check_losses(self, log_vars: Dict[str, torch.Tensor]) -> None:
        """Raise :class:`FloatingPointError` when a loss term is not finite.

        Args:
            log_vars (dict): ``parse_losses``' second output: term name to
                a scalar tensor (``loss`` is the total).
        """
        terms = [(name, value) for name, value in log_vars.items()
                 if 'loss' in name and isinstance(value, torch.Tensor)]
        if not terms:
            return
        finite = torch.stack(
            [torch.isfinite(value.detach()).all() for _, value in terms])
        bad_here = (~finite).sum().to(torch.int64)
        bad_anywhere = bad_here.clone()
        if is_distributed():
            all_reduce(bad_anywhere, op='sum')
        if int(bad_anywhere) == 0:
            return
        epoch, batch_idx, it = self._where
        where = (f'epoch {epoch + 1}, iteration {batch_idx + 1} '
                 f'(iteration {it + 1} of the run)')
        if int(bad_here) == 0:
            detail = 'on another rank'
        else:
            named = [f'{name}={_fmt(value)}' for (name, value), ok in zip(
                terms, finite.tolist()) if not ok and name != 'loss']
            detail = ', '.join(named) or f'loss={_fmt(terms[0][1])}'
        raise FloatingPointError(
            f'non-finite loss at {where}: {detail}. Training stopped before '
            'this batch changed the weights, and no checkpoint was written '
            'from this state: --resume starts again from the last '
            'checkpoint written. Lower the learning rate, add gradient '
            'clipping (optim_wrapper.clip_grad) or check the data.')

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Refuse to save non-finite weights."""
        if not self.check_checkpoints:
            return
        bad = non_finite_tensors(checkpoint.get('state_dict', {}))
        if bad:
            shown = list_names(bad)
            raise FloatingPointError(
                f'not saving the checkpoint of epoch {runner.epoch + 1}: '
                f'{len(bad)} tensor(s) hold nan/inf ({shown}). Nothing '
                'was removed: with AtomicCheckpointHook (the default) the '
                'last checkpoint written stays the one --resume picks.')


def non_finite_tensors(state_dict: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the floating-point tensors that hold ``nan`` or ``inf``."""
    return [key for key, value in state_dict.items()
            if isinstance(value, torch.Tensor) and value.is_floating_point()
            and not bool(torch.isfinite(value).all())]


def list_names(names: List[str], limit: int = 10) -> str:
    """The first ``limit`` of ``names`` joined by commas, with how many
    more there are, for an error message."""
    more = len(names) - limit
    return ', '.join(names[:limit]) + (f' and {more} more'
                                       if more > 0 else '')


def _fmt(value: Optional[torch.Tensor]) -> str:
    number = float(value.detach().float().mean())
    return 'nan' if math.isnan(number) else str(number)
