# Copyright (c) shike-mm contributors. All rights reserved.
"""Small immutable values that several components read (layer 0: imports
nothing from shike-mm but :mod:`shike_mm.protocols`)."""
from .class_counts import (FEW_SHOT_THR, MANY_SHOT_THR, ClassCounts,
                           shot_groups)

__all__ = ['ClassCounts', 'FEW_SHOT_THR', 'MANY_SHOT_THR', 'shot_groups']
