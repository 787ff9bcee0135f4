# Copyright (c) shike-mm contributors. All rights reserved.
"""Rescale a resolved training schedule to another number of epochs.

A long-tail recipe has several epoch values that must move together: the
end of training, the begin / end of every by-epoch LR scheduler (and the
milestones of step schedules), the stages' begins, the epoch from which a
loss re-weights, validation and checkpoint intervals. Changing one of them
alone gives a silently different run; :func:`rescale` changes all of them
with one rule, so that a comparison at another budget keeps each recipe's
shape.

The epoch-valued settings of a component are declared by the component:
a registered class lists the names of its epoch arguments in the class
attribute ``epoch_valued_args`` (:class:`~shike_mm.protocols.EpochValued`),
found through the registry by the config's ``type``.
"""
from typing import Dict, Iterator, List, Tuple

from mmpretrain.registry import HOOKS, MODELS

from .recipe import StageRecipe
from .schedule import as_list


def _declared(kind, registry) -> Tuple[str, ...]:
    """The ``epoch_valued_args`` of the class named by a config ``type``
    (a registered name or the class itself); () when unknown."""
    cls = kind if isinstance(kind, type) else (
        registry.get(kind) if isinstance(kind, str) else None)
    return tuple(getattr(cls, 'epoch_valued_args', ()) or ())


def epoch_entries(cfg) -> Iterator[Tuple[dict, str, str]]:
    """Yield ``(container, key, label)`` for every epoch-valued argument
    declared by a component of ``cfg.model`` (looked up in ``MODELS``) or
    ``cfg.custom_hooks`` (``HOOKS``), whatever its value; ``label`` formats
    the value for a message, e.g. ``LDAMLoss drw_epoch={}
    (model.head.loss.drw_epoch)``."""

    def walk(node, path, registry):
        if isinstance(node, dict):
            kind = node.get('type')
            declared = _declared(kind, registry)
            owner = kind if isinstance(kind, str) else getattr(
                kind, '__name__', '')
            for key, value in node.items():
                where = f'{path}.{key}'
                if key in declared:
                    yield node, key, f'{owner} {key}={{}} ({where})'
                else:
                    yield from walk(value, where, registry)
        elif isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                yield from walk(item, f'{path}.{i}', registry)

    yield from walk(cfg.get('model', {}), 'model', MODELS)
    yield from walk(cfg.get('custom_hooks', []), 'custom_hooks', HOOKS)


def check_epoch_values(cfg) -> None:
    """Refuse declared epoch values that are not 0-based epoch indices,
    naming the field, before a schedule is rescaled (a negative one would
    otherwise be mapped like an epoch boundary, or silently moved to epoch
    0). ``None`` (e.g. no re-weighting) is accepted.

    Raises:
        ValueError: Naming the field, its value and the valid range.
    """
    max_epochs = (cfg.get('train_cfg', None) or {}).get('max_epochs', None)
    for node, key, label in epoch_entries(cfg):
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


def rescale(cfg, recipe: StageRecipe,
            max_epochs: int) -> Tuple[object, StageRecipe]:
    """Rescale a config whose schedulers hold absolute epochs, and its
    recipe, to ``max_epochs`` epochs, in place.

    Every epoch boundary (0, the scheduler begins / ends / milestones, the
    stages' begins, declared epoch values, the end) is mapped
    proportionally with :func:`boundary_map`, so each stage keeps its
    fraction of the run; a cosine's ``T_max`` keeps its ratio to its
    scheduler's length; validation and checkpoint intervals scale (at least
    1). Iteration-based schedulers are left alone.

    Args:
        cfg (Config): A loaded config, stage references resolved
            (:func:`.config.resolve_stage_schedule`); modified.
        recipe (StageRecipe): Its stages.
        max_epochs (int): The new number of epochs.

    Returns:
        tuple: ``(cfg, rescaled recipe)``.

    Raises:
        ValueError: If ``max_epochs`` cannot hold the boundaries apart, or
            the config is not epoch-based.
    """
    old = cfg.train_cfg.get('max_epochs', None)
    if not cfg.train_cfg.get('by_epoch', True) or old is None:
        raise ValueError('rescaling needs an epoch-based train_cfg with '
                         'max_epochs')
    if old == max_epochs:
        return cfg, recipe
    scheds = [s for s in as_list(cfg.get('param_scheduler', None))
              if s.get('by_epoch', True)]
    fields = [(node, key) for node, key, _ in epoch_entries(cfg)
              if isinstance(node[key], int)
              and not isinstance(node[key], bool)]
    points = {0, old}
    for s in scheds:
        begin = s.get('begin', 0)
        end = min(s.get('end', old), old)
        points.update((begin, end))
        points.update(begin + m for m in s.get('milestones', []))
    points.update(node[key] for node, key in fields if node[key] <= old)
    points.update(stage.begin for stage in recipe.stages)
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
    return cfg, recipe.with_begins(mapping)
