# Copyright (c) shike-mm contributors. All rights reserved.
"""A checkpoint written again with an edit (garbage-checkpoint tests)."""
import torch

from tests.helpers.tiny_runs import load


def edited(tiny_run, tmp_path, edit, name='edited.pth'):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    edit(checkpoint)
    path = tmp_path / name
    torch.save(checkpoint, path)
    return path
