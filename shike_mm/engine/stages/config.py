# Copyright (c) shike-mm contributors. All rights reserved.
"""Read a config's stage recipe once, where the config is loaded.

:func:`resolve_stage_schedule` is called by the tools right after
``Config.fromfile`` and ``--cfg-options`` (``tools/train.py``,
``tools/test.py``, ``tools/compare.py``, ``tools/benchmark.py``). It
parses the ``StageSwitchHook``'s stage list (:meth:`.StageRecipe.parse`),
resolves stage-relative schedulers (:mod:`.schedule`), optionally rescales
the schedule (:mod:`.rescale`) and writes the result back: plain mmengine
schedulers with absolute epochs and the hook entry in resolved form
(``stages`` with every field, ``resolved=True``), from which the hook and
every later reader take the value (:func:`stage_recipe_of`) without
reading the list again.
"""
import copy
from typing import Optional

from .recipe import StageRecipe, find_stage_hook_cfg
from .rescale import check_epoch_values, rescale
from .schedule import as_list, check_stages_inside, resolve_param_schedulers


def stage_recipe_of(cfg) -> Optional[StageRecipe]:
    """The recipe of a config resolved by :func:`resolve_stage_schedule`;
    None when it has no ``StageSwitchHook``.

    Raises:
        ValueError: If the config was not resolved (a stage list as
            written), naming the function to call.
    """
    found = find_stage_hook_cfg(cfg)
    if found is None:
        return None
    index, entry = found
    if not entry.get('resolved', False):
        raise ValueError(
            f'custom_hooks[{index}] (StageSwitchHook) is not resolved: load '
            'the config through shike_mm.engine.stages.'
            'resolve_stage_schedule (the tools do) before reading its '
            'stages')
    return StageRecipe.from_resolved(entry['stages'])


def resolve_stage_schedule(cfg, epochs: Optional[int] = None):
    """Return a copy of ``cfg`` with the stage recipe read and resolved
    (see the module doc); with ``epochs``, the schedule rescaled to that
    many epochs (:func:`.rescale.rescale`). A config resolved before is
    not read again: its recipe is taken as it is.

    Args:
        cfg (Config | dict): A loaded config.
        epochs (int, optional): The number of epochs to rescale to.

    Returns:
        Config | dict: The resolved copy.

    Raises:
        ValueError: From :meth:`.StageRecipe.parse`,
            :func:`.schedule.resolve_param_schedulers` (a stage the config
            does not declare, e.g. after replacing ``custom_hooks``
            without a ``StageSwitchHook``),
            :func:`.rescale.check_epoch_values` or
            :func:`.rescale.boundary_map`; when the config names the
            removed ``DecoupledRetrainHook``; for ``epochs`` < 1.
    """
    if epochs is not None and (isinstance(epochs, bool)
                               or not isinstance(epochs, int) or epochs < 1):
        raise ValueError(
            f'max_epochs must be a positive integer, got {epochs!r}')
    cfg = copy.deepcopy(cfg)
    found = find_stage_hook_cfg(cfg)
    max_epochs = (cfg.get('train_cfg', None) or {}).get('max_epochs', None)
    recipe = StageRecipe(())
    if found is not None:
        index, entry = found
        if entry.get('resolved', False):
            recipe = StageRecipe.from_resolved(entry['stages'])
        else:
            recipe = StageRecipe.parse(
                entry.get('stages', None),
                where=f'custom_hooks.{index}.stages',
                max_epochs=max_epochs)
        check_stages_inside(recipe, max_epochs)
    check_epoch_values(cfg)
    schedulers = cfg.get('param_scheduler', None)
    if any('stage' in s for s in as_list(schedulers)):
        cfg['param_scheduler'] = resolve_param_schedulers(
            schedulers, recipe, max_epochs)
    if epochs is not None:
        cfg, recipe = rescale(cfg, recipe, epochs)
    if found is not None:
        hook = {k: v for k, v in entry.items() if k != 'stages'}
        hook.update(stages=recipe.to_cfg(), resolved=True)
        hooks = list(cfg['custom_hooks'])
        hooks[index] = hook
        cfg['custom_hooks'] = hooks  # a config converts the dicts
    return cfg


def rescale_schedule(cfg, max_epochs: int):
    """Return a copy of ``cfg`` whose schedule lasts ``max_epochs`` epochs
    (:func:`resolve_stage_schedule` with ``epochs``; ``cfg`` is
    unchanged).

    Raises:
        ValueError: As :func:`resolve_stage_schedule`.
    """
    return resolve_stage_schedule(cfg, epochs=max_epochs)
