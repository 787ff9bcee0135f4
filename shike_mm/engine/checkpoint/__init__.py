# Copyright (c) shike-mm contributors. All rights reserved.
"""Checkpoints: reading them defensively, writing them atomically.

- :mod:`.safe_globals`: what the weights-only unpickler may build;
- :mod:`.check`: reading a file with it, and checking what it holds;
- :mod:`.loading`: copying a checked checkpoint into a model;
  :func:`load_checkpoint_into` is the entry point for loading a checkpoint
  this process did not write (the runner, ``tools/test.py`` and the
  analysis tools go through it);
- :mod:`.resume_config_diff`: a resumed checkpoint's config against the
  current one;
- :mod:`.file_io`: atomic writes and the ``last_checkpoint`` pointer;
- :mod:`.atomic_checkpoint_hook`: the checkpoint hook built on them.
"""
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .check import CheckpointError, check_checkpoint_path
from .loading import load_checkpoint_into, read_checked_checkpoint
from .safe_globals import register_checkpoint_safe_globals

__all__ = [
    'AtomicCheckpointHook', 'CheckpointError', 'check_checkpoint_path',
    'load_checkpoint_into', 'read_checked_checkpoint',
    'register_checkpoint_safe_globals'
]
