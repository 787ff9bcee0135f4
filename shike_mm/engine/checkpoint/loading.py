# Copyright (c) shike-mm contributors. All rights reserved.
"""Loading a checkpoint this process did not write.

:func:`load_checkpoint_into` is the one entry point: the runner's
``load_checkpoint`` (``load_from``, ``--resume``, ``tools/test.py``) goes
through :func:`runner_load_checkpoint`, which calls it; analysis tools call
it directly. Compared with mmengine's ``Runner.load_checkpoint``:

- the file is read with the weights-only unpickler, and a refusal says
  why without advising to turn the check off
  (:func:`~shike_mm.engine.checkpoint.check.load_checkpoint_file`);
- :func:`~shike_mm.engine.checkpoint.check.check_checkpoint_structure`
  refuses anything but plain data (and well-formed HistoryBuffers in the
  message hub) before any hook or mmengine code copies or compares it; the
  legacy ``meta['config']`` (which mmengine's ``resume`` would execute as
  Python) is dropped (:func:`read_checked_checkpoint`);
- when the weights must fit (testing, validating, resuming), tensors of
  the wrong shape, missing, unexpected or non-tensor entries, tensors
  holding nan/inf and tensors that cannot be copied into the model are an
  error naming them (mmengine only warns, and evaluates a half-loaded
  model) (:func:`load_weights`). Loading weights with ``load_from`` for
  training keeps mmengine's warnings, so a backbone can be fine-tuned with
  a new head;
- on resume, the checkpoint's config is compared with the current one
  (:func:`~shike_mm.engine.checkpoint.resume_config_diff.check_resumed_config`).
"""
from typing import Any, Callable, List, Optional

import torch
from mmengine.model import is_model_wrapper
from mmengine.optim import BaseOptimWrapper
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch import nn

from ...models.utils.class_count_buffer import align_derived_count_keys
from ..hooks.finite_loss_hook import list_names, non_finite_tensors
from .check import (CheckpointError, check_checkpoint_structure,
                    load_checkpoint_file, state_dict_mismatches)
from .resume_config_diff import check_resumed_config

#: mmengine's default ``revise_keys``: strip a DDP wrapper's prefix.
DEFAULT_REVISE_KEYS = [(r'^module.', '')]


def load_checkpoint_into(model: nn.Module,
                         filename: str,
                         must_fit: bool = True,
                         map_location: Any = 'cpu',
                         strict: bool = False,
                         revise_keys: Optional[list] = None,
                         before_copy: Optional[Callable[[dict],
                                                        None]] = None) -> dict:
    """Read a checkpoint defensively and copy its weights into ``model``.

    Args:
        model (nn.Module): The model, wrapped or not.
        filename (str): Path or URL of the checkpoint.
        must_fit (bool): Refuse weights that do not fit ``model`` exactly
            or hold nan/inf (:func:`check_weights_fit`); False keeps
            mmengine's warnings (fine-tuning with ``load_from``).
            Defaults to True.
        map_location (str or callable): As for ``torch.load``.
        strict (bool): Passed to mmengine when ``must_fit`` is False.
        revise_keys (list, optional): ``(pattern, replacement)`` pairs
            applied to the checkpoint's keys. Defaults to stripping
            ``module.``.
        before_copy (callable, optional): Called with the checked
            checkpoint before its weights are copied (the runner's
            ``after_load_checkpoint`` hooks).

    Returns:
        dict: The checkpoint, without ``meta['config']``.

    Raises:
        CheckpointError: when the file is refused or does not fit.
    """
    checkpoint = read_checked_checkpoint(filename, map_location)
    if before_copy is not None:
        before_copy(checkpoint)
    if is_model_wrapper(model):
        model = model.module
    state_dict = checkpoint.get('state_dict')
    if isinstance(state_dict, dict):
        # count buffers in checkpoints written before the counts moved to
        # meta['class_counts']: derived values, not weights
        align_derived_count_keys(model, state_dict)
    return load_weights(model, checkpoint, filename, strict,
                        DEFAULT_REVISE_KEYS if revise_keys is None else
                        revise_keys, must_fit)


def runner_load_checkpoint(runner,
                           filename: str,
                           map_location: Any = 'cpu',
                           strict: bool = False,
                           revise_keys: Optional[list] = None) -> dict:
    """What ``Runner.load_checkpoint`` does, through
    :func:`load_checkpoint_into`.

    The weights must fit unless this is a training run starting from
    ``load_from`` (one whose optimizer is built and which does not
    resume); on resume the checkpoint's config is compared with the
    runner's first. The ``after_load_checkpoint`` hooks see the checked
    checkpoint before its weights are copied, as in mmengine.

    Args:
        runner (Runner): The runner; read through its public attributes.
        filename (str): Path or URL of the checkpoint.
        map_location (str or callable): As for ``torch.load``.
        strict (bool): Passed to mmengine when the weights need not fit.
        revise_keys (list, optional): As for :func:`load_checkpoint_into`.

    Returns:
        dict: The checkpoint.
    """
    resuming = bool(runner.cfg.get('resume', False))
    training = isinstance(runner.optim_wrapper, BaseOptimWrapper)

    def before_copy(checkpoint: dict) -> None:
        if resuming:
            check_resumed_config(checkpoint, filename, runner.cfg,
                                 runner.logger)
        runner.call_hook('after_load_checkpoint', checkpoint=checkpoint)

    checkpoint = load_checkpoint_into(
        runner.model, filename, must_fit=resuming or not training,
        map_location=map_location, strict=strict, revise_keys=revise_keys,
        before_copy=before_copy)
    runner.logger.info(f'Load checkpoint from {filename}')
    return checkpoint


def read_checked_checkpoint(filename: str,
                            map_location: Any = 'cpu') -> dict:
    """Load a checkpoint file as plain data.

    Args:
        filename (str): Path or URL of the checkpoint.
        map_location (str or callable): As for ``torch.load``.

    Returns:
        dict: The checkpoint, without ``meta['config']``.

    Raises:
        CheckpointError: when the file is refused.
    """
    checkpoint = load_checkpoint_file(filename, map_location)
    check_checkpoint_structure(checkpoint, filename)
    meta = checkpoint.get('meta')
    if isinstance(meta, dict) and 'config' in meta:
        meta.pop('config')
    return checkpoint


def load_weights(model: nn.Module, checkpoint: dict, filename: str,
                 strict: bool, revise_keys: list, must_fit: bool) -> dict:
    """Copy a checked checkpoint's weights into ``model``.

    Args:
        model (nn.Module): The model, unwrapped.
        checkpoint (dict): From :func:`read_checked_checkpoint`.
        filename (str): Named in errors.
        strict (bool): Passed to mmengine when ``must_fit`` is False.
        revise_keys (list): ``(pattern, replacement)`` pairs applied to the
            checkpoint's keys.
        must_fit (bool): Refuse weights that do not fit the model exactly
            (:func:`check_weights_fit`) and copy them strictly.

    Returns:
        dict: The checkpoint, as mmengine's loader returns it.
    """
    if not must_fit:
        return _load_checkpoint_to_model(
            model, checkpoint, strict, revise_keys=revise_keys)
    check_weights_fit(model, checkpoint, filename, revise_keys)
    try:
        # strict: a tensor that cannot be copied is an error, not a logged
        # warning before evaluating a random layer
        return _load_checkpoint_to_model(
            model, checkpoint, True, revise_keys=revise_keys)
    except RuntimeError as err:
        raise CheckpointError(
            f'checkpoint {filename}: tensors could not be copied '
            f'into the model:\n{err}') from None


def check_weights_fit(model: nn.Module, checkpoint: dict, filename: str,
                      revise_keys: list) -> None:
    """Refuse a checkpoint whose tensors do not fit ``model`` or hold
    nan/inf.

    Args:
        model (nn.Module): The model, unwrapped.
        checkpoint (dict): The checkpoint (or a bare state dict).
        filename (str): Named in the error.
        revise_keys (list): ``(pattern, replacement)`` pairs applied to the
            checkpoint's keys.

    Raises:
        CheckpointError: listing shape mismatches, missing, unexpected and
            non-tensor entries, or the tensors holding nan/inf.
    """
    state_dict = checkpoint.get('state_dict', checkpoint)
    mismatched, missing, unexpected = state_dict_mismatches(
        model, state_dict, revise_keys)
    not_tensors = [f'{key}: a {type(value).__name__}'
                   for key, value in state_dict.items()
                   if not isinstance(value, torch.Tensor)]
    problems: List[str] = []
    for title, names in (('shape mismatch', mismatched),
                         ('missing from the checkpoint', missing),
                         ('not in the model', unexpected),
                         ('not a tensor', not_tensors)):
        if names:
            shown = '\n    '.join(names[:20])
            more = (f'\n    ... and {len(names) - 20} more'
                    if len(names) > 20 else '')
            problems.append(f'  {title} ({len(names)}):\n    '
                            f'{shown}{more}')
    if problems:
        raise CheckpointError(
            f'checkpoint {filename} does not fit the model of this '
            'config:\n' + '\n'.join(problems) + '\nIs it the '
            'checkpoint of this config (number of classes, backbone, '
            'head)?')
    bad = non_finite_tensors(state_dict)
    if bad:
        raise CheckpointError(
            f'checkpoint {filename}: {len(bad)} tensor(s) hold nan/inf '
            f'({list_names(bad)}); evaluating or resuming it would give '
            'meaningless results. The run that wrote it diverged: use '
            'an earlier checkpoint.')
