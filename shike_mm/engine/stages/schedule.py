# Copyright (c) shike-mm contributors. All rights reserved.
"""LR schedulers that refer to the declared stages, resolved to absolute
epochs.

A ``param_scheduler`` entry may name a stage of the timeline
(:class:`~.recipe.StageRecipe`)::

    dict(type='CosineAnnealingLR', stage='retrain', begin=5, eta_min=0.)

``stage`` is a declared stage's ``name``, :data:`~.recipe.FIRST_STAGE`
(``'representation'``, the epochs before the first declared stage) or an
index into the timeline (0 for the first stage). ``begin`` / ``end`` are
then epochs relative to the stage's first epoch; ``begin`` defaults to 0
and ``end`` to the stage's length, so a scheduler without ``end`` lasts to
the next stage (or the end of training), and a cosine without ``T_max``
spans ``end - begin`` (mmengine's default).
:func:`resolve_param_schedulers` turns such entries into plain mmengine
entries, once, when the config is loaded (:mod:`.config`).
"""
import copy
from typing import Optional

from .recipe import StageRecipe


def as_list(schedulers) -> list:
    """A ``param_scheduler`` config as a list."""
    if schedulers is None:
        return []
    return [schedulers] if isinstance(schedulers, dict) else list(schedulers)


def check_stages_inside(recipe: StageRecipe, max_epochs: int) -> None:
    """Refuse a stage that begins at or past ``max_epochs``.

    Raises:
        ValueError: Naming the stage, its ``begin`` and ``max_epochs``.
    """
    for stage in recipe.stages:
        if max_epochs is not None and stage.begin >= max_epochs:
            raise ValueError(
                f'StageSwitchHook stage {stage.name!r} (begin='
                f'{stage.begin}): the stage begins at or past the end of '
                f'training (train_cfg.max_epochs={max_epochs}), so it would '
                'never run. Use a begin < max_epochs (tools/train.py '
                '--epochs N rescales the whole schedule).')


def _stage_index(ref, names, where: str) -> int:
    if isinstance(ref, int) and not isinstance(ref, bool) \
            and 0 <= ref < len(names):
        return ref
    if ref in names:
        return names.index(ref)
    raise ValueError(
        f'{where}: no such stage; the timeline is {names} (or indices '
        f'0..{len(names) - 1}). Stages are declared by the StageSwitchHook '
        'in custom_hooks; a config that drops it needs schedulers with '
        'absolute epochs.')


def resolve_param_schedulers(schedulers, recipe: StageRecipe,
                             max_epochs: Optional[int]) -> list:
    """Turn ``stage``-relative scheduler entries into absolute ones.

    Args:
        schedulers (dict | list[dict]): A ``param_scheduler`` config.
        recipe (StageRecipe): The declared stages.
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
    check_stages_inside(recipe, max_epochs)
    names = recipe.names
    resolved = []
    for i, entry in enumerate(as_list(schedulers)):
        entry = copy.deepcopy(entry)
        resolved.append(entry)
        if 'stage' not in entry:
            continue
        ref = entry.pop('stage')
        where = f'param_scheduler[{i}] ({entry.get("type")}, stage={ref!r})'
        index = _stage_index(ref, names, where)
        if not entry.get('by_epoch', True):
            raise ValueError(f'{where}: a stage reference counts epochs; '
                             'it needs by_epoch=True')
        if index == len(names) - 1 and max_epochs is None:
            raise ValueError(f'{where}: the last stage ends at '
                             'train_cfg.max_epochs, which is not set')
        first, stop = recipe.span(index, max_epochs)
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
