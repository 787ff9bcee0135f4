# Copyright (c) shike-mm contributors. All rights reserved.
"""Checks, before the first training step, that a stage recipe fits the
LR schedule and the model."""
import copy
from typing import List, Optional

from torch import nn

from ...protocols import StagedHead
from .recipe import StageRecipe
from .schedule import as_list, check_stages_inside


def _lr_table(optim_cfg: dict, schedulers: List[dict], epochs: int) -> list:
    """The learning rate of epochs ``0 .. epochs - 1`` (by-epoch
    schedulers stepped on a dummy parameter).

    Each epoch steps the optimizer before the schedulers, the order torch
    and mmengine expect (the reverse warns "Detected call of
    `scheduler.step()` before `optimizer.step()`"); the dummy parameter
    has no gradient, so the optimizer step changes nothing."""
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import PARAM_SCHEDULERS
    wrapper = build_optim_wrapper(
        nn.Linear(1, 1),
        dict(type='OptimWrapper', optimizer=dict(optim_cfg['optimizer'])))
    built = [
        PARAM_SCHEDULERS.build(dict(copy.deepcopy(s), optimizer=wrapper))
        for s in schedulers
    ]
    lrs = []
    for _ in range(epochs):
        lrs.append(wrapper.param_groups[0]['lr'])
        wrapper.step()
        for scheduler in built:
            scheduler.step()
    return lrs


def check_stage_schedule(recipe: StageRecipe,
                         schedulers,
                         max_epochs: int,
                         optim_cfg: Optional[dict] = None,
                         min_restart_ratio: float = 0.01) -> None:
    """Check that the LR schedule changes exactly at every stage's
    ``begin`` and restarts there.

    Args:
        recipe (StageRecipe): The declared stages.
        schedulers (dict | list[dict]): ``param_scheduler`` with absolute
            epochs (:func:`.config.resolve_stage_schedule`).
        max_epochs (int): ``train_cfg.max_epochs``.
        optim_cfg (dict, optional): ``optim_wrapper``; without an
            ``optimizer`` the restart is not simulated.
        min_restart_ratio (float): Smallest accepted ratio of the learning
            rate at a stage's first epoch to the peak before it; 0 skips.

    Raises:
        ValueError: Naming the stage and the offending value: a ``begin``
            at or past ``max_epochs``; a scheduler still holding a stage
            reference; a by-epoch scheduler running across a ``begin``; no
            scheduler starting there; a learning rate there below
            ``min_restart_ratio`` x the peak before it.
    """
    check_stages_inside(recipe, max_epochs)
    scheds = as_list(schedulers)
    for i, s in enumerate(scheds):
        if 'stage' in s:
            raise ValueError(
                f'param_scheduler[{i}] ({s.get("type")}, stage='
                f'{s["stage"]!r}) still refers to a stage: load the config '
                'through shike_mm.engine.stages.resolve_stage_schedule '
                '(the tools do) before building a runner from it')
    scheds = [s for s in scheds if s.get('by_epoch', True)]
    lrs = None
    if min_restart_ratio > 0 and optim_cfg and 'optimizer' in optim_cfg:
        lrs = _lr_table(optim_cfg, scheds,
                        max(s.begin for s in recipe.stages) + 1)
    for stage in recipe.stages:
        cut = stage.begin

        def error(msg, stage=stage):
            return ValueError(f'StageSwitchHook stage {stage.name!r} '
                              f'(begin={stage.begin}): {msg}')

        starts = False
        for i, s in enumerate(scheds):
            begin, end = s.get('begin', 0), s.get('end', max_epochs)
            if begin < cut < end:
                raise error(
                    f'param_scheduler[{i}] ({s.get("type")}, begin={begin}, '
                    f'end={end}) runs across the stage boundary; the '
                    'schedule must change exactly at the stage\'s begin '
                    f'(end it there, or give it stage={stage.name!r} '
                    'or the stage before).')
            starts = starts or begin == cut
        if not starts:
            raise error(
                'no by-epoch param_scheduler begins at the stage\'s first '
                'epoch, so the learning rate does not restart for it. Begin '
                f'a scheduler there (e.g. RestartLinearLR with stage='
                f'{stage.name!r}).')
        if lrs is not None:
            peak = max(lrs[:cut], default=lrs[cut])
            if peak > 0 and lrs[cut] < min_restart_ratio * peak:
                raise error(
                    f'the learning rate at the boundary is {lrs[cut]:.3g}, '
                    f'below {min_restart_ratio:g} x the peak {peak:.3g} '
                    'before it: the stage would barely train. Restart the '
                    'schedule there (e.g. RestartLinearLR, which is '
                    'computed from the base learning rate) or set '
                    'min_restart_ratio=0.')


def check_recipe_fits_model(recipe: StageRecipe, model: nn.Module) -> None:
    """Check every stage against the model before the first step: each
    ``trainable`` prefix names parameters, each ``reinit`` a module, each
    ``head_mode`` a mode of a staged head (so a typo in the last stage is
    reported at the start of training, not when that stage begins).

    Args:
        recipe (StageRecipe): The declared stages.
        model (nn.Module): The model (unwrapped).

    Raises:
        ValueError: Naming the stage, the field and the value.
    """
    params = [name for name, _ in model.named_parameters()]
    modules = dict(model.named_modules())
    head = getattr(model, 'head', None)
    for stage in recipe.stages:
        where = f'StageSwitchHook stage {stage.name!r} (begin={stage.begin})'
        for prefix in stage.trainable:
            if not any(n == prefix or n.startswith(prefix + '.')
                       for n in params):
                raise ValueError(
                    f'{where}: trainable prefix {prefix!r} names no '
                    f'parameter of the model (e.g. {params[-3:]})')
        for name in stage.reinit:
            if name not in modules:
                raise ValueError(
                    f'{where}: reinit names {name!r}, which is not a module '
                    f'of the model (e.g. {list(modules)[-3:]})')
        if stage.head_mode is None:
            continue
        if not isinstance(head, StagedHead):
            raise ValueError(
                f'{where}: head_mode={stage.head_mode!r} but the head '
                f'({type(head).__name__}) is not a StagedHead; use '
                'head_mode=None for heads without stages.')
        if stage.head_mode not in head.available_modes:
            raise ValueError(
                f'{where}: head_mode={stage.head_mode!r} is not a mode of '
                f'{type(head).__name__} (modes: '
                f'{list(head.available_modes)})')
