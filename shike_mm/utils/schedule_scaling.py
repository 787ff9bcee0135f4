# Copyright (c) shike-mm contributors. All rights reserved.
"""Rescale a config's training schedule to another number of epochs.

A long-tail recipe has several epoch values that must move together: the
end of training, the begin / end of every by-epoch LR scheduler (and the
milestones of step schedules), the stage begins of ``StageSwitchHook``
(``custom_hooks.N.stages.M.begin``), the epoch from which a loss re-weights
(``drw_epoch``, ``reweight_epoch``), validation and checkpoint intervals.
Changing one of them alone gives a silently different run; this module
changes all of them with one rule, so that a comparison at another budget
keeps each recipe's shape. Schedulers that refer to a stage
(:mod:`shike_mm.engine.stage_schedule`) are resolved to absolute epochs
first, so they move with the stage's ``begin``.
"""
from typing import Dict, Iterator, List, Tuple

from mmengine.config import Config

#: Keys holding an epoch anywhere inside ``model`` and ``custom_hooks``
#: (loss re-weighting); the stages' ``begin`` of a ``StageSwitchHook`` are
#: epochs too (:func:`_epoch_entries`).
EPOCH_KEYS = ('drw_epoch', 'reweight_epoch')


def _epoch_fields(cfg: Config) -> Iterator[Tuple[dict, str]]:
    """Yield ``(container, key)`` for every epoch value of the schedule
    except scheduler fields (handled separately): the integer ones of
    :func:`_epoch_entries` (:func:`check_epoch_values` refuses the
    others)."""
    for node, key, _ in _epoch_entries(cfg):
        if isinstance(node[key], int) and not isinstance(node[key], bool):
            yield node, key


def _epoch_entries(cfg: Config) -> Iterator[Tuple[dict, str, str]]:
    """Yield ``(container, key, label)`` for every epoch key of ``cfg``
    (see :data:`EPOCH_KEYS`) and every stage ``begin`` of a
    ``StageSwitchHook``, whatever its value; ``label`` formats the value
    for a message, e.g. ``StageSwitchHook stage 'retrain' begin={}
    (custom_hooks.0.stages.0.begin)``."""

    def walk(node, path):
        if isinstance(node, dict):
            owner = node.get('type')
            for key, value in node.items():
                where = f'{path}.{key}'
                if owner == 'StageSwitchHook' and key == 'stages':
                    for i, stage in enumerate(value or []):
                        if 'begin' in stage:
                            yield stage, 'begin', (
                                f'StageSwitchHook stage '
                                f"{stage.get('name')!r} begin={{}} "
                                f'({where}.{i}.begin)')
                elif key in EPOCH_KEYS:
                    label = f'{where}={{}}' if not isinstance(
                        owner, str) else f'{owner} {key}={{}} ({where})'
                    yield node, key, label
                else:
                    yield from walk(value, where)
        elif isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                yield from walk(item, f'{path}.{i}')

    yield from walk(cfg.get('model', {}), 'model')
    yield from walk(cfg.get('custom_hooks', []), 'custom_hooks')


def check_epoch_values(cfg: Config) -> None:
    """Refuse epoch values (:data:`EPOCH_KEYS`) that are not 0-based epoch
    indices, naming the field, before a schedule is rescaled (a negative
    one would otherwise be mapped like an epoch boundary and reported as
    a rescaling problem, or silently moved to epoch 0). ``None`` (e.g. no
    re-weighting) is accepted.

    Raises:
        ValueError: Naming the field, its value and the valid range.
    """
    max_epochs = (cfg.get('train_cfg', None) or {}).get('max_epochs', None)
    for node, key, label in _epoch_entries(cfg):
        value = node[key]
        if value is None:
            continue
        if (isinstance(value, bool) or not isinstance(value, int)
                or value < 0):
            bound = '' if max_epochs is None else (
                f', below train_cfg.max_epochs={max_epochs} to take effect')
            raise ValueError(
                f'{label.format(repr(value))} is not valid: it must be a '
                f'whole number >= 0 (a 0-based epoch index{bound}). Fix it '
                'before rescaling the schedule (tools/train.py --epochs).')


def _schedulers(cfg: Config) -> List[dict]:
    scheds = cfg.get('param_scheduler', None) or []
    if isinstance(scheds, dict):
        scheds = [scheds]
    return [s for s in scheds if s.get('by_epoch', True)]


def boundary_map(points: List[int], old: int, new: int) -> Dict[int, int]:
    """Map the sorted distinct epoch boundaries of a schedule of ``old``
    epochs to ``new`` epochs: proportional, rounded, then made strictly
    increasing again so that no stage or scheduler becomes empty.

    Args:
        points (list[int]): Epoch boundaries, including 0 and ``old``.
        old (int): Current number of epochs.
        new (int): Target number of epochs.

    Returns:
        dict[int, int]: Old boundary to new boundary.

    Raises:
        ValueError: If ``new`` epochs cannot hold the boundaries apart.
    """
    points = sorted(set(points))
    if new < len(points) - 1:
        raise ValueError(
            f'cannot rescale a {old}-epoch schedule to {new} epochs: it has '
            f'{len(points)} distinct epoch boundaries {points} (stages, '
            'warm-ups, restarts, steps), which need at least '
            f'{len(points) - 1} epochs to stay apart.')
    mapped = [round(p * new / old) for p in points]
    mapped[0], mapped[-1] = 0, new
    for i in range(1, len(mapped)):  # keep them apart, left to right ...
        mapped[i] = max(mapped[i], mapped[i - 1] + 1)
    mapped[-1] = new
    for i in range(len(mapped) - 2, -1, -1):  # ... and right to left
        mapped[i] = min(mapped[i], mapped[i + 1] - 1)
    return dict(zip(points, mapped))


def rescale_schedule(cfg: Config, max_epochs: int) -> Config:
    """Return a copy of ``cfg`` whose schedule lasts ``max_epochs`` epochs.

    Every epoch boundary (0, the scheduler begins / ends / milestones, the
    stages' begins and re-weighting epochs, the end) is mapped
    proportionally with :func:`boundary_map`, so each stage keeps its
    fraction of the run; a cosine's ``T_max`` keeps its ratio to its
    scheduler's length; validation and checkpoint intervals scale (at least
    1). Iteration-based schedulers are left alone.

    Args:
        cfg (Config): A complete, loaded config (``train_cfg.max_epochs``).
        max_epochs (int): The new number of epochs.

    Returns:
        Config: The rescaled copy; ``cfg`` itself is unchanged.

    Raises:
        ValueError: If an epoch value (a stage's ``begin``, ``drw_epoch``,
            ``reweight_epoch``) is not a whole number >= 0, naming it; or
            if ``max_epochs`` cannot hold the boundaries apart.
    """
    if not isinstance(max_epochs, int) or max_epochs < 1:
        raise ValueError(f'max_epochs must be a positive integer, got '
                         f'{max_epochs!r}')
    # Stage-relative schedulers first (a copy; idempotent), so that their
    # epochs move with the stages' begins.
    from shike_mm.engine.stage_schedule import resolve_stage_schedule
    cfg = resolve_stage_schedule(cfg)
    old = cfg.train_cfg.get('max_epochs', None)
    if not cfg.train_cfg.get('by_epoch', True) or old is None:
        raise ValueError('rescale_schedule needs an epoch-based train_cfg '
                         'with max_epochs')
    if old == max_epochs:
        return cfg
    check_epoch_values(cfg)
    scheds = _schedulers(cfg)
    fields = list(_epoch_fields(cfg))
    points = {0, old}
    for s in scheds:
        begin = s.get('begin', 0)
        end = min(s.get('end', old), old)
        points.update((begin, end))
        points.update(begin + m for m in s.get('milestones', []))
    points.update(node[key] for node, key in fields if node[key] <= old)
    mapping = boundary_map(sorted(points), old, max_epochs)

    for s in scheds:
        begin = s.get('begin', 0)
        end = min(s.get('end', old), old)
        new_begin, new_end = mapping[begin], mapping[end]
        if 'T_max' in s:
            ratio = s['T_max'] / max(end - begin, 1)
            s['T_max'] = max(1, round(ratio * (new_end - new_begin)))
        if 'milestones' in s:
            s['milestones'] = [
                mapping[begin + m] - new_begin for m in s['milestones']
            ]
        s['begin'] = new_begin
        if 'end' in s:
            s['end'] = new_end
    for node, key in fields:
        node[key] = mapping.get(node[key], max_epochs)
    cfg.train_cfg.max_epochs = max_epochs
    if 'val_interval' in cfg.train_cfg:
        cfg.train_cfg.val_interval = max(
            1, round(cfg.train_cfg.val_interval * max_epochs / old))
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint', None)
    if checkpoint and checkpoint.get('by_epoch', True) \
            and 'interval' in checkpoint and checkpoint.interval > 0:
        checkpoint.interval = max(
            1, round(checkpoint.interval * max_epochs / old))
    return cfg
