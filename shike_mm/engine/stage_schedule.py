# Copyright (c) shike-mm contributors. All rights reserved.
"""LR schedulers that refer to the declared stages, and the checks that the
schedule restarts at every stage.

A ``param_scheduler`` entry may name a stage of the timeline
(:mod:`shike_mm.engine.stages`)::

    dict(type='CosineAnnealingLR', stage='retrain', begin=5, eta_min=0.)

``stage`` is a declared stage's ``name``, :data:`~.stages.FIRST_STAGE`
(``'representation'``, the epochs before the first declared stage) or an
index into the timeline (0 for the first stage). ``begin`` / ``end`` are
then epochs relative to the stage's first epoch; ``begin`` defaults to 0
and ``end`` to the stage's length, so a scheduler without ``end`` lasts to
the next stage (or the end of training), and a cosine without ``T_max``
spans ``end - begin`` (mmengine's default). :func:`resolve_stage_schedule`
turns such entries into plain mmengine entries with absolute epochs;
``tools/train.py`` calls it before ``--epochs`` rescaling and
``DeviceAwareRunner.from_cfg`` again (it is idempotent).
"""
import copy
from typing import List, Optional, Sequence

from torch import nn

from .stages import find_stage_hook_cfg, parse_stages, stage_names, stage_span


def _as_list(schedulers) -> list:
    if schedulers is None:
        return []
    return [schedulers] if isinstance(schedulers, dict) else list(schedulers)


def check_stages_inside(stages: Sequence[dict], max_epochs: int) -> None:
    """Refuse a stage that begins at or past ``max_epochs``.

    Raises:
        ValueError: Naming the stage, its ``begin`` and ``max_epochs``.
    """
    for stage in stages:
        if max_epochs is not None and stage['begin'] >= max_epochs:
            raise ValueError(
                f'StageSwitchHook stage {stage["name"]!r} (begin='
                f'{stage["begin"]}): the stage begins at or past the end of '
                f'training (train_cfg.max_epochs={max_epochs}), so it would '
                'never run. Use a begin < max_epochs (tools/train.py '
                '--epochs N rescales the whole schedule).')


def resolve_param_schedulers(schedulers, stages: Sequence[dict],
                             max_epochs: Optional[int]) -> list:
    """Turn ``stage``-relative scheduler entries into absolute ones.

    Args:
        schedulers (dict | list[dict]): A ``param_scheduler`` config.
        stages (Sequence[dict]): The declared stages (``name``, ``begin``).
        max_epochs (int, optional): ``train_cfg.max_epochs``, the end of
            the last stage.

    Returns:
        list[dict]: Copies; entries without ``stage`` are unchanged.

    Raises:
        ValueError: A stage beginning at or past ``max_epochs``
            (:func:`check_stages_inside`); or naming the entry: an unknown
            stage, a stage reference on an iteration-based scheduler, or
            ``begin`` / ``end`` outside the stage.
    """
    check_stages_inside(stages, max_epochs)
    names = stage_names(stages)
    resolved = []
    for i, entry in enumerate(_as_list(schedulers)):
        entry = copy.deepcopy(entry)
        resolved.append(entry)
        if 'stage' not in entry:
            continue
        ref = entry.pop('stage')
        where = f'param_scheduler[{i}] ({entry.get("type")}, stage={ref!r})'
        if isinstance(ref, int) and not isinstance(ref, bool) \
                and 0 <= ref < len(names):
            index = ref
        elif ref in names:
            index = names.index(ref)
        else:
            raise ValueError(
                f'{where}: no such stage; the timeline is {names} '
                f'(or indices 0..{len(names) - 1}). Stages are declared by '
                'the StageSwitchHook in custom_hooks; a config that drops '
                'it needs schedulers with absolute epochs.')
        if not entry.get('by_epoch', True):
            raise ValueError(f'{where}: a stage reference counts epochs; '
                             'it needs by_epoch=True')
        if index == len(names) - 1 and max_epochs is None:
            raise ValueError(f'{where}: the last stage ends at '
                             'train_cfg.max_epochs, which is not set')
        first, stop = stage_span(stages, index, max_epochs)
        if stop <= first:
            raise ValueError(
                f'{where}: stage {names[index]!r} begins at epoch {first}, '
                f'at or past its end {stop} (the next stage\'s begin or '
                f'train_cfg.max_epochs={max_epochs})')
        begin = entry.get('begin', 0)
        end = entry.get('end', stop - first)
        if not 0 <= begin < end <= stop - first:
            raise ValueError(
                f'{where}: begin={begin}, end={end} are epochs relative to '
                f'the stage, which lasts {stop - first} epochs ({first} to '
                f'{stop}); they need 0 <= begin < end <= {stop - first}')
        entry['begin'], entry['end'] = first + begin, first + end
    return resolved


def resolve_stage_schedule(cfg):
    """Return a copy of ``cfg`` whose ``param_scheduler`` holds absolute
    epochs only (see the module doc); the stages come from the config's
    ``StageSwitchHook`` entry. A config without stage references is
    returned as a copy, unchanged.

    Args:
        cfg (Config | dict): A loaded config.

    Returns:
        Config | dict: The resolved copy.

    Raises:
        ValueError: As :func:`resolve_param_schedulers` (a stage the
            config does not declare, e.g. after replacing ``custom_hooks``
            without a ``StageSwitchHook``), as
            :func:`~shike_mm.utils.schedule_scaling.check_epoch_values`, or
            when the config names the removed ``DecoupledRetrainHook``.
    """
    from shike_mm.utils.schedule_scaling import check_epoch_values
    cfg = copy.deepcopy(cfg)
    hook = find_stage_hook_cfg(cfg)
    schedulers = cfg.get('param_scheduler', None)
    if not any('stage' in s for s in _as_list(schedulers)):
        return cfg
    check_epoch_values(cfg)  # the stages' begins, naming the config field
    stages = parse_stages(hook['stages']) if hook else []
    max_epochs = (cfg.get('train_cfg', None) or {}).get('max_epochs', None)
    cfg['param_scheduler'] = resolve_param_schedulers(
        schedulers, stages, max_epochs)
    return cfg


def _lr_table(optim_cfg: dict, schedulers: List[dict], epochs: int) -> list:
    """The learning rate of epochs ``0 .. epochs - 1`` (by-epoch
    schedulers stepped on a dummy parameter)."""
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
        for scheduler in built:
            scheduler.step()
    return lrs


def check_stage_schedule(stages: Sequence[dict],
                         schedulers,
                         max_epochs: int,
                         optim_cfg: Optional[dict] = None,
                         min_restart_ratio: float = 0.01) -> None:
    """Check that the LR schedule changes exactly at every stage's
    ``begin`` and restarts there.

    Args:
        stages (Sequence[dict]): The declared stages (parsed).
        schedulers (dict | list[dict]): ``param_scheduler``, resolved or
            not.
        max_epochs (int): ``train_cfg.max_epochs``.
        optim_cfg (dict, optional): ``optim_wrapper``; without an
            ``optimizer`` the restart is not simulated.
        min_restart_ratio (float): Smallest accepted ratio of the learning
            rate at a stage's first epoch to the peak before it; 0 skips.

    Raises:
        ValueError: Naming the stage and the offending value: a ``begin``
            at or past ``max_epochs``; a by-epoch scheduler running across
            a ``begin``; no scheduler starting there; a learning rate there
            below ``min_restart_ratio`` x the peak before it.
    """
    check_stages_inside(stages, max_epochs)
    scheds = [
        s for s in resolve_param_schedulers(schedulers, stages, max_epochs)
        if s.get('by_epoch', True)
    ]
    lrs = None
    if min_restart_ratio > 0 and optim_cfg and 'optimizer' in optim_cfg:
        lrs = _lr_table(optim_cfg, scheds, max(s['begin'] for s in stages)
                        + 1)
    for stage in stages:
        cut = stage['begin']

        def error(msg, stage=stage):
            return ValueError(f'StageSwitchHook stage {stage["name"]!r} '
                              f'(begin={stage["begin"]}): {msg}')

        starts = False
        for i, s in enumerate(scheds):
            begin, end = s.get('begin', 0), s.get('end', max_epochs)
            if begin < cut < end:
                raise error(
                    f'param_scheduler[{i}] ({s.get("type")}, begin={begin}, '
                    f'end={end}) runs across the stage boundary; the '
                    'schedule must change exactly at the stage\'s begin '
                    f"(end it there, or give it stage={stage['name']!r} "
                    'or the stage before).')
            starts = starts or begin == cut
        if not starts:
            raise error(
                'no by-epoch param_scheduler begins at the stage\'s first '
                'epoch, so the learning rate does not restart for it. Begin '
                f"a scheduler there (e.g. RestartLinearLR with stage="
                f"{stage['name']!r}).")
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
