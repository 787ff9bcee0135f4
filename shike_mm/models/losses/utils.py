# Copyright (c) shike-mm contributors. All rights reserved.
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
