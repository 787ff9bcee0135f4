# Copyright (c) shike-mm contributors. All rights reserved.
from .checkpoint_safe_globals import register_checkpoint_safe_globals

__all__ = ['register_checkpoint_safe_globals']
