# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence, Tuple

import torch
from mmpretrain.registry import MODELS

from .multi_expert_resnet import MultiExpertResNet


@MODELS.register_module()
class SinglePathResNet(MultiExpertResNet):
    """A plain (single-path) ResNet built by the multi-expert construction.

    The baselines of the long-tail tables (CE, focal, LDAM-DRW, logit
    adjustment, balanced softmax, cRT) use one ResNet-32 on CIFAR, which
    mmpretrain's ``ResNet_CIFAR`` cannot build (it only knows the ImageNet
    depths). This backbone is :class:`MultiExpertResNet` with one expert
    whose private stage is moved back into the trunk, so the architecture,
    block code and initialisation are those of the SHIKE / RIDE backbones
    and nothing of the shared / expert split shows:

    - modules ``conv1``, ``bn1``, ``layer1`` .. ``layer{num_stages}``, the
      names of mmpretrain's / torchvision's ``ResNet`` (so plain ResNet
      checkpoints load as they are);
    - the output is a tuple of feature maps like mmpretrain's ``ResNet``,
      for ``GlobalAveragePooling`` + ``LinearClsHead`` (or
      ``CosineClsHead``).

    Architectures (``depth``) as in :class:`MultiExpertResNet`: CIFAR
    depths 20, 32, 44, 56, 110 (3x3 stem, 16/32/64 channels, 1x1 conv + BN
    shortcut where the shape changes) and ImageNet depths 18-152.

    Args:
        depth (int): Network depth, e.g. 32.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int, optional): Stem output channels. Defaults to 16
            (CIFAR) or 64 (ImageNet).
        base_channels (int, optional): Width of the first stage before the
            block expansion. Defaults to 16 (CIFAR) or 64 (ImageNet).
        strides (Sequence[int], optional): Stride of the first block of each
            stage. Defaults to (1, 2, 2) (CIFAR) or (1, 2, 2, 2) (ImageNet).
        out_indices (Sequence[int]): 0-based stages whose outputs are
            returned. Defaults to the last stage only.
        **kwargs: Other :class:`MultiExpertResNet` arguments (``groups``,
            ``width_per_group``, ``style``, ``avg_down``, ``frozen_stages``,
            ``conv_cfg``, ``norm_cfg``, ``norm_eval``, ``with_cp``,
            ``zero_init_residual``, ``init_cfg``), except the expert ones.

    Shapes:
        - input: (B, in_channels, H, W)
        - output: tuple with one (B, C_i, H_i, W_i) map per ``out_indices``
          entry; for ResNet-32 on 32x32 inputs and the default
          ``out_indices``: ((B, 64, 8, 8), ).
    """

    _expert_args = ('num_experts', 'num_shared_stages', 'expert_channels')

    def __init__(self,
                 depth: int,
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 base_channels: Optional[int] = None,
                 strides: Optional[Sequence[int]] = None,
                 out_indices: Optional[Sequence[int]] = None,
                 **kwargs):
        given = [k for k in self._expert_args if k in kwargs]
        if given:
            raise TypeError(
                f'{type(self).__name__} has a single path; it takes no '
                f'{given} (use MultiExpertResNet for experts)')
        setting = self.arch_settings.get(depth)
        num_stages = len(setting[1]) if setting else 1
        # One expert owning the last stage; the stage then moves back into
        # the trunk below (MultiExpertResNet needs at least one expert
        # stage).
        super().__init__(
            depth=depth,
            num_experts=1,
            num_shared_stages=num_stages - 1,
            in_channels=in_channels,
            stem_channels=stem_channels,
            base_channels=base_channels,
            strides=strides,
            **kwargs)
        name = f'layer{self.num_stages}'
        last_stage = getattr(self.experts[0], name)
        del self.experts
        self.add_module(name, last_stage)
        self.shared_layers.append(name)
        self.num_shared_stages = self.num_stages
        self.num_experts = 1
        self.experts = torch.nn.ModuleList()  # keeps inherited code valid

        if out_indices is None:
            out_indices = (self.num_stages - 1, )
        out_indices = tuple(
            i + self.num_stages if i < 0 else i for i in out_indices)
        if not out_indices or any(not 0 <= i < self.num_stages
                                  for i in out_indices):
            raise ValueError(
                f'out_indices must be stage indices in [0, '
                f'{self.num_stages - 1}] for depth {depth}, got {out_indices}')
        self.out_indices = out_indices
        self._freeze_stages()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Forward.

        Args:
            x (Tensor): Images, shape (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: The outputs of the ``out_indices`` stages.
        """
        x = self.forward_stem(x)
        outs = []
        for i, name in enumerate(self.shared_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
