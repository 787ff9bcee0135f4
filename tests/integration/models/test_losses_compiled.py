# Copyright (c) shike-mm contributors. All rights reserved.
"""Losses against slow references written from the equations."""

import torch

from shike_mm.models import DKTLoss, MutualKLLoss


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
