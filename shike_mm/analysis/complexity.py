# Copyright (c) shike-mm contributors. All rights reserved.
"""Model complexity (MACs and parameters) for the tools, counted by
:mod:`shike_mm.models.utils.macs`, the project's one MAC counter."""
from typing import Sequence

import torch
from mmengine.analysis import get_model_complexity_info
from torch import nn

from shike_mm.models.utils.macs import macs_by_module, per_expert_loop

__all__ = ['macs_by_module', 'model_complexity', 'per_expert_loop']


def model_complexity(model: nn.Module,
                     input_shape: Sequence[int],
                     show_table: bool = False) -> dict:
    """MACs and parameters of one forward of ``model`` on one image.

    Args:
        model (nn.Module): The model; its ``forward`` is traced.
        input_shape (Sequence[int]): (C, H, W) of one image.
        show_table (bool): Also build mmengine's per-module table
            (``out_table``).

    Returns:
        dict: mmengine's :func:`get_model_complexity_info` result
        (``flops``, ``flops_str``, ``params``, ``params_str``, ...).
    """
    with per_expert_loop(model), torch.no_grad():
        return get_model_complexity_info(
            model, tuple(input_shape), show_table=show_table,
            show_arch=False)
