# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Any, Optional

import torch
import torch.distributed as dist
import torch.nn as nn
from mmengine.registry import MODELS


class _AllReduceSum(torch.autograd.Function):
    """Sum over the ranks, differentiable: every rank's output is the sum
    of the inputs, so the gradient of an input is the sum over the ranks of
    the output gradients (what ``torch.distributed.nn.functional.all_reduce``
    does; that function is deprecated in recent torch)."""

    @staticmethod
    def forward(ctx, tensor: torch.Tensor, group: Optional[Any]):
        ctx.group = group
        tensor = tensor.clone(memory_format=torch.contiguous_format)
        dist.all_reduce(tensor, group=group)
        return tensor

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return _AllReduceSum.apply(grad, ctx.group), None


def _all_reduce(tensor: torch.Tensor,
               group: Optional[Any] = None) -> torch.Tensor:
    """Differentiable sum of ``tensor`` over the ranks of ``group``."""
    return _AllReduceSum.apply(tensor, group)


def _world_size(group: Optional[Any]) -> int:
    if not (dist.is_available() and dist.is_initialized()):
        return 1
    return dist.get_world_size(group)


@MODELS.register_module('SyncBNAnyDevice')
class SyncBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch
    over all ranks, on any device and backend (gloo on CPU included).

    :class:`torch.nn.SyncBatchNorm` refuses CPU tensors, so a run without a
    GPU cannot synchronise BN with it. This layer does it with two
    differentiable all-reduces (sums whose backward all-reduces the
    gradient), so the gradients are those of the global batch as well:

    1. per-channel sum of x and the element count -> global mean;
    2. per-channel sum of (x - mean)^2 -> global biased variance (two-pass,
       no E[x^2] - E[x]^2 cancellation).

    The output is ``(x - mean) / sqrt(var + eps) * weight + bias`` and the
    running statistics are updated like :class:`torch.nn.BatchNorm2d`'s
    (momentum, or the cumulative average when ``momentum`` is None), with
    the unbiased global variance ``var * n / (n - 1)``. So R ranks with
    batch B / R each compute what one process computes with batch B, and
    since DDP averages the gradients over the ranks, the mean of the ranks'
    losses and the update equal the one-process ones (up to float
    summation order).

    In eval mode, outside a distributed run, or with world size 1 the layer
    is exactly :class:`torch.nn.BatchNorm2d`. Every rank must run every BN
    layer in the same order (as DDP already requires of the forward).

    Config: ``norm_cfg=dict(type='SyncBNAnyDevice')`` (``requires_grad``,
    ``eps``, ``momentum``, ``affine`` and ``track_running_stats`` as
    keys). Registered, like mmcv's ``BN`` and ``SyncBN``, in mmengine's root
    ``MODELS`` registry, which mmcv's ``build_norm_layer`` searches from
    any scope; the built layer is named ``bn*`` like ``BN``.

    Args:
        num_features (int): Channels C.
        eps (float): Added to the variance. Defaults to 1e-5.
        momentum (float, optional): Running-statistics momentum; None for a
            cumulative average. Defaults to 0.1.
        affine (bool): Learnable weight and bias. Defaults to True.
        track_running_stats (bool): Keep running statistics. Defaults to
            True.
        process_group (ProcessGroup, optional): Ranks to synchronise over.
            Defaults to None (all ranks).
        device, dtype: As :class:`torch.nn.BatchNorm2d`.

    Shapes:
        - input: (N, C, H, W); N may differ between ranks.
        - output: (N, C, H, W)
    """

    def __init__(self,
                 num_features: int,
                 eps: float = 1e-5,
                 momentum: Optional[float] = 0.1,
                 affine: bool = True,
                 track_running_stats: bool = True,
                 process_group: Optional[Any] = None,
                 device=None,
                 dtype=None) -> None:
        super().__init__(num_features, eps, momentum, affine,
                         track_running_stats, device=device, dtype=dtype)
        self.process_group = process_group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Normalise ``x`` with the global batch statistics (training mode
        and world size > 1) or as :class:`torch.nn.BatchNorm2d`.

        Args:
            x (Tensor): (N, C, H, W).

        Returns:
            Tensor: (N, C, H, W), dtype of ``x``.
        """
        if not self.training or _world_size(self.process_group) == 1:
            return super().forward(x)
        self._check_input_dim(x)

        dims = [0] + list(range(2, x.dim()))
        shape = [1, -1] + [1] * (x.dim() - 2)
        # statistics in float32 at least (as torch does for half inputs)
        xs = x if x.dtype in (torch.float32, torch.float64) else x.float()
        local_count = x.numel() // x.size(1)
        count = xs.new_full((1, ), local_count)
        # count travels in the same tensor: one collective for both
        total = _all_reduce(torch.cat([xs.sum(dims), count]),
                            group=self.process_group)
        num = total[-1]
        # (only a rank with a single value asks: .item() waits for the device)
        if local_count <= 1 and num.item() <= 1:
            raise ValueError(
                f'{type(self).__name__}: expected more than 1 value per '
                f'channel over all ranks when training, got input size '
                f'{list(x.shape)} on this rank and {int(num.item())} in all')
        mean = total[:-1] / num
        centred = xs - mean.view(shape)
        var = _all_reduce(
            (centred * centred).sum(dims), group=self.process_group) / num

        if self.track_running_stats:
            factor = self._momentum_factor()
            with torch.no_grad():
                self.running_mean.mul_(1 - factor).add_(
                    mean.detach().to(self.running_mean.dtype), alpha=factor)
                unbiased = var.detach() * (num / (num - 1))
                self.running_var.mul_(1 - factor).add_(
                    unbiased.to(self.running_var.dtype), alpha=factor)

        out = centred * torch.rsqrt(var + self.eps).view(shape)
        if self.affine:
            out = out * self.weight.view(shape) + self.bias.view(shape)
        return out.to(x.dtype)

    def _momentum_factor(self) -> float:
        """Count the batch and return the running-average factor, as
        :meth:`torch.nn.modules.batchnorm._BatchNorm.forward` does."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        return factor
