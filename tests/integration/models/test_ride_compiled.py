# Copyright (c) shike-mm contributors. All rights reserved.
"""RIDE (ICLR 2021): backbone, zero-padding shortcut, LDAM-DRW, RIDE loss and
the expert router, checked against hand values and slow references written
from the equations."""

import torch

from shike_mm.models import (LDAMLoss, RIDELoss)


def _logits(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * 30


COUNTS = [300, 120, 40, 12, 3]


def test_ldam_set_epoch_recompiles_only_at_drw_epoch():
    """``set_epoch`` flips a bool that forward reads, never the epoch
    itself: a compiled loss (as in a compiled train_step) recompiles once,
    when re-weighting starts, not every epoch. Dynamo only
    (``CompileCounter``): no C++ compiler needed."""
    from torch._dynamo.testing import CompileCounter
    torch._dynamo.reset()
    z, y = _logits(7, 5), torch.tensor([0, 1, 2, 3, 4, 4, 1])
    losses = [LDAMLoss(class_counts=COUNTS, drw_epoch=3),
              RIDELoss(class_counts=COUNTS, drw_epoch=3)]
    inputs = [z, _logits(3, 7, 5, seed=1)]
    for loss, logits in zip(losses, inputs):
        counter = CompileCounter()
        compiled = torch.compile(loss, backend=counter)
        frames = []
        for epoch in range(6):
            loss.set_epoch(epoch)
            torch.testing.assert_close(compiled(logits, y), loss(logits, y))
            frames.append(counter.frame_count)
        assert frames[0] == frames[2] and frames[3] == frames[5], frames
        assert frames[3] > frames[2], frames
    torch._dynamo.reset()
