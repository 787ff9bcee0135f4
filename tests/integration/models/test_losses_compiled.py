# Copyright (c) shike-mm contributors. All rights reserved.
"""Losses against slow references written from the equations."""

import pytest
import torch

from shike_mm.models import (DKTLoss, MutualKLLoss)


@pytest.fixture
def logits():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 6, 7, generator=gen, dtype=torch.float64) * 5
    target = torch.randint(0, 7, (6, ), generator=gen)
    return z, target


def test_distillation_losses_compile_as_one_graph(logits):
    """DKT and mutual KL trace without a graph break (a data-dependent
    ``masked_select`` used to cause one), so a compiled SHIKE step keeps
    forward and losses in one graph. Dynamo only, no C++ compiler."""
    z, target = logits
    for loss in (MutualKLLoss(), MutualKLLoss(detach_target=True),
                 DKTLoss()):
        for experts in (z, z[:1]):
            report = torch._dynamo.explain(loss)(experts, target)
            assert report.graph_break_count == 0, report.break_reasons
            compiled = torch.compile(loss, backend='eager')
            assert compiled(experts,
                            target).item() == loss(experts, target).item()


