# Copyright (c) shike-mm contributors. All rights reserved.
"""Reading a checkpoint defensively and copying it into a model.

Compared with mmengine's ``Runner.load_checkpoint``:

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
  a new head.
"""
from typing import Any, List

import torch
from mmengine.runner.checkpoint import _load_checkpoint_to_model
from torch import nn

from ..hooks.finite_loss_hook import list_names, non_finite_tensors
from .check import (CheckpointError, check_checkpoint_structure,
                    load_checkpoint_file, state_dict_mismatches)


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
