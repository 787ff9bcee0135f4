# Copyright (c) shike-mm contributors. All rights reserved.
from .checkpoint import *  # noqa: F401,F403
from .hooks import *  # noqa: F401,F403
from .runners import *  # noqa: F401,F403
from .schedulers import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403
from .stage_schedule import (check_stage_schedule, resolve_param_schedulers,
                             resolve_stage_schedule)
from .stages import FIRST_STAGE, freeze_for_stage, stage_at

__all__ = [
    'FIRST_STAGE', 'check_stage_schedule', 'freeze_for_stage',
    'resolve_param_schedulers', 'resolve_stage_schedule', 'stage_at'
]
