# Copyright (c) shike-mm contributors. All rights reserved.
"""The project's one multiply-add (MAC) counter.

Every count (``tools/analysis_tools/get_flops.py``, ``tools/benchmark.py``,
the per-expert costs behind routed inference's ``relative_flops``) comes
from mmengine's :class:`~mmengine.analysis.FlopAnalyzer` (fvcore's
convention: one multiply-add counts as one FLOP, so the numbers are MACs;
batch norm and pooling are counted, activations are not), run on the
per-expert loop of multi-expert backbones: the grouped path
(``grouped_experts=True``) runs the same operations, and the loop
attributes them to the per-expert modules.
"""
from contextlib import contextmanager
from typing import Callable, Dict, Optional, Sequence

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


@contextmanager
def per_expert_loop(model: nn.Module):
    """Run ``model``'s backbone expert by expert (``grouped_experts``
    off) and in eval mode within the block; both are restored after."""
    backbone = getattr(model, 'backbone', None)
    grouped = getattr(backbone, 'grouped_experts', None)
    was_training = model.training
    if grouped is not None:
        backbone.grouped_experts = False
    model.eval()
    try:
        yield model
    finally:
        if grouped is not None:
            backbone.grouped_experts = grouped
        model.train(was_training)


class _Forward(nn.Module):
    """``model`` with ``forward`` replaced by ``fn(model, x)``, for
    tracing (module names get the prefix ``model.``)."""

    def __init__(self, model: nn.Module, fn: Callable):
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, x):
        return self.fn(self.model, x)


def macs_by_module(model: nn.Module,
                   input_shape: Sequence[int],
                   forward: Optional[Callable] = None) -> Dict[str, int]:
    """MACs of each module (name to count, ``''`` the whole) for one
    image.

    Args:
        model (nn.Module): The model.
        input_shape (Sequence[int]): (C, H, W) of one image.
        forward (callable, optional): ``forward(model, x)`` to count
            instead of ``model(x)``.

    Returns:
        dict[str, int]: As :meth:`FlopAnalyzer.by_module`, with the
        model's own module names.
    """
    param = next(model.parameters(), None)
    device = param.device if param is not None else 'cpu'
    x = torch.zeros(1, *input_shape, device=device)
    with per_expert_loop(model), torch.no_grad():
        if forward is None:
            target, prefix = model, ''
        else:
            target, prefix = _Forward(model, forward), 'model'
        analyzer = FlopAnalyzer(target, (x, ))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        counts = analyzer.by_module()
    if not prefix:
        return dict(counts)
    out = {}
    for name, count in counts.items():
        if name == prefix or name == '':
            out.setdefault('', count)
        elif name.startswith(prefix + '.'):
            out[name[len(prefix) + 1:]] = count
    return out
