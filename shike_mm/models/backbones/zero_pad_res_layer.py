# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.backbones.resnet import get_expansion


class ZeroPadShortcut(nn.Module):
    """Parameter-free identity shortcut, "option A" of the CIFAR ResNet.

    He et al. (2016), Sec. 4.2, used by the LDAM-DRW and RIDE reference
    code (github.com/kaidic/LDAM-DRW, github.com/frank-xwang/
    RIDE-LongTailRecognition, ``ride_resnet_cifar.py``): the input is
    subsampled spatially by taking every ``stride``-th pixel
    (``x[:, :, ::s, ::s]``, i.e. the top-left pixel of every s x s cell)
    and the missing channels are zeros, ``(out - in) // 2`` before and the
    rest after the input channels.

    The reference pads ``(out - in) // 2`` on both sides and always
    subsamples by 2; both agree with this module for its shapes (even
    channel difference, stride 2). Here an odd difference puts the extra
    zero channel last, and stride 1 does not subsample, so the shortcut
    also works where only the width changes.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels, ``>= in_channels``.
        stride (int): Spatial subsampling factor. Defaults to 1.

    Shapes:
        - input: (B, in_channels, H, W)
        - output: (B, out_channels, ceil(H / stride), ceil(W / stride))
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(
                'the zero-padding shortcut cannot reduce channels: '
                f'in_channels={in_channels} > out_channels={out_channels}; '
                "use shortcut='conv'")
        if stride < 1:
            raise ValueError(f'stride must be >= 1, got {stride}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.pad_before = (out_channels - in_channels) // 2
        self.pad_after = out_channels - in_channels - self.pad_before

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Subsample and zero-pad; see the class docstring for shapes."""
        if self.stride > 1:
            x = x[:, :, ::self.stride, ::self.stride]
        if self.pad_before or self.pad_after:
            x = F.pad(x, (0, 0, 0, 0, self.pad_before, self.pad_after))
        return x

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, '
                f'out_channels={self.out_channels}, stride={self.stride}')


class ZeroPadResLayer(nn.Sequential):
    """A ResNet stage whose projection shortcut is :class:`ZeroPadShortcut`.

    Same arguments and block layout as mmpretrain's ``ResLayer`` (first
    block with ``stride``, the rest with stride 1); the only difference is
    the shortcut of the first block where the shape changes: zero padding
    instead of a 1x1 conv + BN, so the stage has no shortcut parameters.
    Built by :meth:`MultiExpertResNet.make_res_layer` when the backbone is
    constructed with ``shortcut='zero_pad'``.

    Args:
        block (type): Residual block (``BasicBlock`` or a bottleneck).
        num_blocks (int): Number of blocks.
        in_channels (int): Input channels of the stage.
        out_channels (int): Output channels of the stage (after expansion),
            ``>= in_channels``.
        expansion (int, optional): Block expansion; defaults to the block's.
        stride (int): Stride of the first block. Defaults to 1.
        avg_down (bool): Not supported (it configures the conv shortcut);
            must be False.
        conv_cfg (dict, optional): Conv config of the blocks.
        norm_cfg (dict): Norm config of the blocks.
        drop_path_rate (float | list[float]): Stochastic depth rate(s).
        **kwargs: Further block arguments (``style``, ``with_cp``, ResNeXt's
            ``groups`` ...).
    """

    def __init__(self,
                 block,
                 num_blocks: int,
                 in_channels: int,
                 out_channels: int,
                 expansion: Optional[int] = None,
                 stride: int = 1,
                 avg_down: bool = False,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN'),
                 drop_path_rate=0.0,
                 **kwargs):
        if avg_down:
            raise ValueError('avg_down configures the conv shortcut and '
                             "cannot be combined with shortcut='zero_pad'")
        self.block = block
        self.expansion = get_expansion(block, expansion)
        if isinstance(drop_path_rate, float):
            drop_path_rate = [drop_path_rate] * num_blocks
        if len(drop_path_rate) != num_blocks:
            raise ValueError(f'drop_path_rate needs {num_blocks} values, got '
                             f'{len(drop_path_rate)}')
        downsample = None
        if stride != 1 or in_channels != out_channels:
            downsample = ZeroPadShortcut(in_channels, out_channels, stride)
        layers = []
        for i in range(num_blocks):
            layers.append(
                block(
                    in_channels=in_channels if i == 0 else out_channels,
                    out_channels=out_channels,
                    expansion=self.expansion,
                    stride=stride if i == 0 else 1,
                    downsample=downsample if i == 0 else None,
                    conv_cfg=conv_cfg,
                    norm_cfg=norm_cfg,
                    drop_path_rate=drop_path_rate[i],
                    **kwargs))
        super().__init__(*layers)
