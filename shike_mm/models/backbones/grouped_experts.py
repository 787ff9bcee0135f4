# Copyright (c) shike-mm contributors. All rights reserved.
"""Run M structurally identical expert modules as one grouped computation.

Every expert of a multi-expert ResNet owns a copy of the same stages (and,
in SHIKE, of the same DKF alignment chain). Instead of calling the M copies
one after the other, :func:`grouped_forward` stacks them along the channel
axis and runs each layer once:

- a convolution becomes one convolution whose weight is the concatenation
  of the M weights. If its input is shared by all experts (the first layer
  of an expert stage reads the shared trunk's output) it keeps its
  ``groups``; otherwise the input is the M experts' stacked maps and the
  call uses ``groups * M``, so expert m only sees its own channels;
- a BatchNorm becomes one BatchNorm over M * C channels; statistics are per
  channel, so this is the same normalisation (training and eval), and the
  updated running statistics are written back to every expert's buffers;
- ReLU, residual additions and pooling are channel-wise and run once on the
  stacked tensor.

Nothing changes in the modules: parameters and buffers stay where they are
(``experts.{m}.*``), so checkpoints, parameter groups, freezing and
pretrained loading are untouched. The weights are concatenated at every
call (autograd splits their gradients back); that copy is small next to
the convolutions. The mathematics is the same as the per-expert loop; only
the order of floating-point accumulation may differ (below 1e-5 relative in
float32, see ``tests/unit/models/test_fast_equivalence.py``).

Supported layers: ``nn.Conv2d`` (zero padding), ``nn.BatchNorm2d`` with a
fixed momentum, ``nn.ReLU`` / ``nn.Identity`` / ``nn.AvgPool2d`` /
``nn.MaxPool2d``, ``nn.Sequential`` (mmpretrain's ``ResLayer``), mmcv's
``ConvModule`` (conv-norm-act order) and mmpretrain's ``BasicBlock`` and
``Bottleneck`` (also ResNeXt's) without gradient checkpointing or drop
path. :func:`can_group` tells whether a list of modules qualifies;
everything else runs the per-expert loop.

Opt-in: backbones use it only with ``grouped_experts=True`` (default
False); on a CPU it measured 1.01x the per-expert loop's training speed
(``docs/performance.md``).
"""
from typing import Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck

_CHANNELWISE = (nn.ReLU, nn.Identity, nn.AvgPool2d, nn.MaxPool2d)


def _same(modules: Sequence[nn.Module], *attrs: str) -> bool:
    first = modules[0]
    return all(
        getattr(m, a) == getattr(first, a) for m in modules[1:] for a in attrs)


def can_group(modules: Sequence[nn.Module]) -> bool:
    """Whether :func:`grouped_forward` supports these M modules.

    They must have the same type and structure, every leaf a supported
    layer with the same hyper-parameters, and every BatchNorm the same
    training mode. Parameters may differ in ``requires_grad`` (gradients
    simply do not flow to frozen copies).

    Args:
        modules (Sequence[nn.Module]): One module per expert.

    Returns:
        bool: True if the grouped computation is exact for them.
    """
    first = modules[0]
    if any(type(m) is not type(first) for m in modules):
        return False
    if type(first) is nn.Conv2d:
        return first.padding_mode == 'zeros' and _same(
            modules, 'in_channels', 'out_channels', 'kernel_size', 'stride',
            'padding', 'dilation', 'groups') and len(
                {m.bias is None
                 for m in modules}) == 1
    if type(first) is nn.BatchNorm2d:
        return first.momentum is not None and _same(
            modules, 'num_features', 'eps', 'momentum', 'affine',
            'track_running_stats', 'training')
    if type(first) in _CHANNELWISE:
        return all(m.extra_repr() == first.extra_repr() for m in modules)
    if isinstance(first, ConvModule):
        if first.order != ('conv', 'norm', 'act') or \
                first.with_explicit_padding or \
                not _same(modules, 'with_norm', 'with_activation'):
            return False
        parts = [[m.conv for m in modules]]
        if first.with_norm:
            parts.append([m.norm for m in modules])
        if first.with_activation:
            parts.append([m.activate for m in modules])
        return all(can_group(p) for p in parts)
    if isinstance(first, (BasicBlock, Bottleneck)):
        if type(first).forward not in (BasicBlock.forward, Bottleneck.forward):
            return False
        if any(
                m.with_cp or not isinstance(m.drop_path, nn.Identity)
                for m in modules):
            return False
        if len({m.downsample is None for m in modules}) != 1:
            return False
        names = ['conv1', 'norm1', 'conv2', 'norm2', 'relu']
        if isinstance(first, Bottleneck):
            names += ['conv3', 'norm3']
        if first.downsample is not None:
            names.append('downsample')
        return all(can_group([getattr(m, n) for m in modules]) for n in names)
    if type(first) is nn.Sequential or (isinstance(first, nn.Sequential)
                                        and type(first).forward
                                        is nn.Sequential.forward):
        if len({len(m) for m in modules}) != 1:
            return False
        return all(
            can_group([m[i] for m in modules]) for i in range(len(first)))
    return False


def _unshare(x: torch.Tensor, num: int) -> torch.Tensor:
    """Repeat a shared input for every expert: (B, C) -> (B, num * C)."""
    return x.repeat(1, num, *([1] * (x.dim() - 2)))


def _conv(convs: Sequence[nn.Conv2d], x: torch.Tensor,
          shared: bool) -> torch.Tensor:
    first = convs[0]
    weight = torch.cat([c.weight for c in convs], dim=0)
    bias = None if first.bias is None else torch.cat([c.bias for c in convs])
    groups = first.groups * (1 if shared else len(convs))
    return F.conv2d(x, weight, bias, first.stride, first.padding,
                    first.dilation, groups)


def _batch_norm(bns: Sequence[nn.BatchNorm2d],
                x: torch.Tensor) -> torch.Tensor:
    """``nn.BatchNorm2d.forward`` of M BNs on their stacked channels."""
    first = bns[0]
    momentum = first.momentum
    if first.training and first.track_running_stats:
        for bn in bns:
            if bn.num_batches_tracked is not None:
                bn.num_batches_tracked.add_(1)
    use_batch_stats = first.training or first.running_mean is None
    track = not first.training or first.track_running_stats
    running_mean = running_var = None
    if track and first.running_mean is not None:
        running_mean = torch.cat([bn.running_mean for bn in bns])
        running_var = torch.cat([bn.running_var for bn in bns])
    weight = bias = None
    if first.affine:
        weight = torch.cat([bn.weight for bn in bns])
        bias = torch.cat([bn.bias for bn in bns])
    out = F.batch_norm(x, running_mean, running_var, weight, bias,
                       use_batch_stats, momentum, first.eps)
    if use_batch_stats and running_mean is not None:
        with torch.no_grad():
            for bn, mean, var in zip(bns, running_mean.chunk(len(bns)),
                                     running_var.chunk(len(bns))):
                bn.running_mean.copy_(mean)
                bn.running_var.copy_(var)
    return out


def _block(blocks: Sequence[nn.Module], x: torch.Tensor,
           shared: bool) -> torch.Tensor:
    """mmpretrain ``BasicBlock`` / ``Bottleneck`` forward, grouped."""
    first = blocks[0]

    def conv(name, inp, inp_shared):
        return _conv([getattr(b, name) for b in blocks], inp, inp_shared)

    def norm(name, inp):
        return _batch_norm([getattr(b, name) for b in blocks], inp)

    out = first.relu(norm('norm1', conv('conv1', x, shared)))
    out = norm('norm2', conv('conv2', out, False))
    if isinstance(first, Bottleneck):
        out = first.relu(out)
        out = norm('norm3', conv('conv3', out, False))
    if first.downsample is not None:
        identity = grouped_forward([b.downsample for b in blocks], x, shared)
    else:
        identity = _unshare(x, len(blocks)) if shared else x
    out += identity
    return first.relu(out)


def _forward(modules: Sequence[nn.Module], x: torch.Tensor,
             shared: bool) -> Tuple[torch.Tensor, bool]:
    """Grouped forward; returns the output and whether it is still shared
    (only channel-wise layers seen so far)."""
    first = modules[0]
    if type(first) is nn.Conv2d:
        return _conv(modules, x, shared), False
    if type(first) is nn.BatchNorm2d:
        if shared:
            x = _unshare(x, len(modules))
        return _batch_norm(modules, x), False
    if type(first) in _CHANNELWISE:
        return first(x), shared
    if isinstance(first, ConvModule):
        out = _conv([m.conv for m in modules], x, shared)
        if first.with_norm:
            out = _batch_norm([m.norm for m in modules], out)
        if first.with_activation:
            out = first.activate(out)
        return out, False
    if isinstance(first, (BasicBlock, Bottleneck)):
        return _block(modules, x, shared), False
    if isinstance(first, nn.Sequential):
        for i in range(len(first)):
            x, shared = _forward([m[i] for m in modules], x, shared)
        return x, shared
    raise TypeError(f'grouped_forward does not support {type(first)}; '
                    'check can_group() first')


def grouped_forward(modules: Sequence[nn.Module],
                    x: torch.Tensor,
                    shared: bool = True) -> torch.Tensor:
    """Run M structurally identical modules as one computation.

    Args:
        modules (Sequence[nn.Module]): One module per expert, for which
            :func:`can_group` is True.
        x (Tensor): Either the input every expert reads, shape
            (B, C, H, W) (``shared=True``), or the M experts' inputs
            stacked along the channels, shape (B, M * C, H, W)
            (``shared=False``).
        shared (bool): See ``x``. Defaults to True.

    Returns:
        Tensor: The M outputs stacked along the channels,
        (B, M * C_out, H_out, W_out); expert m's output is the m-th of
        ``out.chunk(M, dim=1)``.
    """
    out, still_shared = _forward(modules, x, shared)
    return _unshare(out, len(modules)) if still_shared else out
