# Copyright (c) shike-mm contributors. All rights reserved.
"""The stage recipe of multi-stage training: one value
(:class:`StageRecipe`), read once where the config is loaded
(:func:`resolve_stage_schedule`), and pure functions over it.

Modules import one way only: ``recipe`` <- ``schedule`` <- ``rescale`` <-
``config``; ``checks`` and ``apply`` read ``recipe`` (and ``schedule``).
"""
from .apply import (apply_stage, freeze_for_stage, is_trainable,
                    reinit_module, set_head_mode, staged_head)
from .checks import check_recipe_fits_model, check_stage_schedule
from .config import rescale_schedule, resolve_stage_schedule, stage_recipe_of
from .recipe import (FIRST_STAGE, STAGE_DEFAULTS, Stage, StageRecipe,
                     find_stage_hook_cfg, stage_at)
from .rescale import boundary_map, check_epoch_values, epoch_entries, rescale
from .schedule import check_stages_inside, resolve_param_schedulers

__all__ = [
    'FIRST_STAGE', 'STAGE_DEFAULTS', 'Stage', 'StageRecipe', 'apply_stage',
    'boundary_map', 'check_epoch_values', 'check_recipe_fits_model',
    'check_stage_schedule', 'check_stages_inside', 'epoch_entries',
    'find_stage_hook_cfg', 'freeze_for_stage', 'is_trainable',
    'reinit_module', 'rescale', 'rescale_schedule',
    'resolve_param_schedulers', 'resolve_stage_schedule', 'set_head_mode',
    'stage_at', 'stage_recipe_of', 'staged_head'
]
