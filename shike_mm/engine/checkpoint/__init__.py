# Copyright (c) shike-mm contributors. All rights reserved.
"""Checkpoints: reading them defensively, writing them atomically.

- :mod:`.safe_globals`: what the weights-only unpickler may build;
- :mod:`.check`: reading a file with it, and checking what it holds;
- :mod:`.loading`: copying a checked checkpoint into a model;
- :mod:`.file_io`: atomic writes and the ``last_checkpoint`` pointer;
- :mod:`.atomic_checkpoint_hook`: the checkpoint hook built on them.
"""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .check import CheckpointError
from .safe_globals import register_checkpoint_safe_globals

__all__ = [
    'AtomicCheckpointHook', 'CheckpointError',
    'register_checkpoint_safe_globals'
]
