# Copyright (c) shike-mm contributors. All rights reserved.
"""Dtype and layout of expert logits, shared by the losses, the heads and
the router (this module imports nothing from ``losses`` or ``heads``)."""
import torch


def upcast_logits(x: torch.Tensor) -> torch.Tensor:
    """Return ``x`` in float32 if it is a half type, otherwise unchanged.

    Losses are computed in at least float32 (AMP autocast produces float16 /
    bfloat16 logits); float64 inputs stay float64 so the losses can be
    checked exactly against slow references.

    Args:
        x (Tensor): Logits of any shape.

    Returns:
        Tensor: float32 or float64 tensor.
    """
    if x.dtype in (torch.float32, torch.float64):
        return x
    return x.float()


def stack_expert_logits(expert_logits) -> torch.Tensor:
    """Stack per-expert logits to one (M, B, C) tensor of at least float32.

    Args:
        expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C), or M
            tensors of shape (B, C).

    Returns:
        Tensor: Shape (M, B, C), see :func:`upcast_logits` for the dtype.
    """
    if not isinstance(expert_logits, torch.Tensor):
        expert_logits = torch.stack(list(expert_logits), dim=0)
    if expert_logits.dim() != 3:
        raise ValueError('expert logits must have shape (M, B, C), got '
                         f'{tuple(expert_logits.shape)}')
    return upcast_logits(expert_logits)
