# Copyright (c) shike-mm contributors. All rights reserved.
from .restart_linear_lr import RestartLinearLR

__all__ = ['RestartLinearLR']
