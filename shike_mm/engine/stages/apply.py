# Copyright (c) shike-mm contributors. All rights reserved.
"""Put a model in a stage: the head's mode and the trainable parameters,
both derived from the :class:`~.recipe.Stage` in force.

:class:`~shike_mm.engine.hooks.StageSwitchHook` calls these when a stage
starts; a tool calls :func:`apply_stage` to put a model in a stage by hand
(e.g. to time classifier retraining).
"""
from typing import List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from torch import nn

from ...protocols import StagedHead
from .recipe import Stage, _as_tuple


def is_trainable(name: str, prefixes: Sequence[str]) -> bool:
    """Whether parameter ``name`` is ``prefix`` or below it for one of
    ``prefixes`` (``head`` matches ``head.fc.weight``, not ``header``)."""
    return any(name == p or name.startswith(p + '.') for p in prefixes)


def freeze_for_stage(model: nn.Module,
                     stage: Union[Stage, str, Sequence[str]]
                     ) -> List[Tuple[str, nn.Parameter]]:
    """Freeze every parameter of ``model`` except those under the stage's
    ``trainable`` prefixes.

    Args:
        model (nn.Module): The model (unwrapped).
        stage (Stage | str | Sequence[str]): A stage, or parameter name
            prefixes as in ``model.named_parameters()``.

    Returns:
        list[tuple[str, nn.Parameter]]: The trainable parameters.

    Raises:
        ValueError: If no parameter is under the prefixes, naming them and
            some parameter names.
    """
    prefixes = stage.trainable if isinstance(stage, Stage) else _as_tuple(
        stage)
    kept = []
    for name, param in model.named_parameters():
        param.requires_grad_(is_trainable(name, prefixes))
        if param.requires_grad:
            kept.append((name, param))
    if not kept:
        names = [n for n, _ in model.named_parameters()]
        raise ValueError(
            f'no parameter name starts with any of {list(prefixes)}; the '
            f'model has e.g. {names[-3:]}')
    return kept


def staged_head(model: nn.Module) -> Optional[StagedHead]:
    """``model.head`` if it is a :class:`~shike_mm.protocols.StagedHead`,
    else None."""
    head = getattr(model, 'head', None)
    return head if isinstance(head, StagedHead) else None


def set_head_mode(model: nn.Module, stage: Optional[Stage]) -> Optional[str]:
    """Put a staged head in the mode of ``stage`` (None: the implicit first
    stage, the head's first mode).

    Returns:
        str, optional: The mode set; None when the stage leaves the head
        alone (``head_mode=None``) or, for the first stage, the head is not
        staged.

    Raises:
        ValueError: If the stage names a mode and the head is not a
            :class:`~shike_mm.protocols.StagedHead`.
    """
    head = staged_head(model)
    if stage is None:
        mode = head.available_modes[0] if head is not None else None
    else:
        mode = stage.head_mode
        if mode is not None and head is None:
            raise ValueError(
                f'head_mode={mode!r} but the head '
                f'({type(getattr(model, "head", None)).__name__}) is not a '
                'StagedHead; use head_mode=None for heads without stages.')
    if mode is not None:
        head.set_mode(mode)
    return mode


def apply_stage(model: nn.Module,
                stage: Stage) -> List[Tuple[str, nn.Parameter]]:
    """Put ``model`` in a declared stage: the head's mode
    (:func:`set_head_mode`) and the trainable set
    (:func:`freeze_for_stage`). Re-initialisation, the dataloader and the
    optimizer state are the hook's.

    Returns:
        list[tuple[str, nn.Parameter]]: The trainable parameters.
    """
    set_head_mode(model, stage)
    return freeze_for_stage(model, stage)


def reinit_module(module: nn.Module) -> None:
    """Re-initialise ``module``: its mmengine ``init_cfg`` when it has one,
    else ``reset_parameters`` of every submodule defining it."""
    if isinstance(module, BaseModule) and module.init_cfg:
        for m in module.modules():
            if isinstance(m, BaseModule):
                m.is_init = False
        module.init_weights()
        return
    for m in module.modules():
        if callable(getattr(m, 'reset_parameters', None)):
            m.reset_parameters()
