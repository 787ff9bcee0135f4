# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence

from mmpretrain.models.backbones.resnet import get_expansion
from mmpretrain.registry import MODELS

from .multi_expert_resnet import MultiExpertResNet


@MODELS.register_module()
class RIDEResNet(MultiExpertResNet):
    """Multi-expert ResNet of RIDE (Wang et al., ICLR 2021).

    "Long-tailed Recognition by Routing Diverse Distribution-Aware Experts";
    layout of the reference code (github.com/frank-xwang/
    RIDE-LongTailRecognition, ``ride_resnet_cifar.py`` and
    ``fb_resnets/RIDEResNet.py`` / ``RIDEResNeXt.py``). A configuration of
    :class:`MultiExpertResNet`, not a second ResNet:

    - CIFAR depths (ResNet-32): stem + stage 1 shared, stages 2-3 per
      expert (``num_shared_stages=1``), zero-padding identity shortcuts
      (``shortcut='zero_pad'``, "option A"). ``reduce_dimension`` narrows
      the expert stages from 32/64 to 24/48 channels.
    - ImageNet depths (ResNet-50, ResNeXt-50 32x4d with ``groups=32,
      width_per_group=4``): stem + stages 1-2 shared, stages 3-4 per expert
      (``num_shared_stages=2``), 1x1 conv + BN shortcuts.
      ``reduce_dimension`` narrows the expert stages from 256/512 to
      192/384 bottleneck planes, i.e. 1024/2048 -> 768/1536 output
      channels.

    Both reductions are the same rule: every per-expert stage gets 3/4 of
    its plain width. ``expert_channels`` overrides it (output channels
    after expansion, one value per per-expert stage).

    The per-expert cosine classifiers (scale 30 in the reference) are not
    part of the backbone: the neck (``GlobalAveragePooling``) pools each
    expert map and the multi-expert head classifies it.

    Weight init (when ``init_cfg`` is None) follows the reference: Kaiming
    normal convs with ``mode='fan_in'`` for CIFAR depths
    (``nn.init.kaiming_normal_``) and ``mode='fan_out'`` for ImageNet
    depths (``normal(0, sqrt(2 / (k * k * out)))``); BN weight 1, bias 0.

    Args:
        depth (int): Network depth, see :class:`MultiExpertResNet`.
        num_experts (int): Number of experts M. Defaults to 3.
        reduce_dimension (bool): Narrow the per-expert stages to 3/4 of the
            plain widths. Defaults to True (the reference configs).
        expert_channels (Sequence[int], optional): Explicit output channels
            of the per-expert stages; overrides ``reduce_dimension``.
        num_shared_stages (int, optional): Defaults to 1 (CIFAR) or 2
            (ImageNet).
        shortcut (str, optional): 'conv' or 'zero_pad'. Defaults to
            'zero_pad' (CIFAR) or 'conv' (ImageNet).
        **kwargs: Other arguments of :class:`MultiExpertResNet`
            (``groups``, ``width_per_group``, ``frozen_stages``,
            ``norm_eval``, ``init_cfg``, ...).

    Shapes:
        - input: (B, 3, H, W)
        - output: tuple of M maps (B, C_last, H_last, W_last); CIFAR R32
          reduced at 32x32: (B, 48, 8, 8); ImageNet R50 reduced at 224x224:
          (B, 1536, 7, 7).

    Example:
        >>> import torch
        >>> from shike_mm.models import RIDEResNet
        >>> model = RIDEResNet(depth=32, num_experts=3).eval()
        >>> [tuple(o.shape) for o in model(torch.rand(2, 3, 32, 32))]
        [(2, 48, 8, 8), (2, 48, 8, 8), (2, 48, 8, 8)]
    """

    default_shared_stages = {'cifar': 1, 'imagenet': 2}
    default_shortcut = {'cifar': 'zero_pad', 'imagenet': 'conv'}
    default_init_mode = {'cifar': 'fan_in', 'imagenet': 'fan_out'}
    reduce_ratio = (3, 4)

    def __init__(self,
                 depth: int,
                 num_experts: int = 3,
                 reduce_dimension: bool = True,
                 expert_channels: Optional[Sequence[int]] = None,
                 num_shared_stages: Optional[int] = None,
                 shortcut: Optional[str] = None,
                 **kwargs):
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for RIDEResNet, choose '
                           f'from {sorted(self.arch_settings)}')
        block, stage_blocks, stem_type = self.arch_settings[depth]
        num_stages = len(stage_blocks)
        if num_shared_stages is None:
            num_shared_stages = self.default_shared_stages[stem_type]
        if shortcut is None:
            shortcut = self.default_shortcut[stem_type]
        if kwargs.get('init_cfg') is None:
            kwargs['init_cfg'] = [
                dict(
                    type='Kaiming',
                    layer=['Conv2d'],
                    mode=self.default_init_mode[stem_type]),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        if expert_channels is None and reduce_dimension:
            base = kwargs.get('base_channels') or self.stem_settings[
                stem_type]['base_channels']
            expansion = get_expansion(block)
            num, den = self.reduce_ratio
            expert_channels = [
                base * expansion * 2**i * num // den
                for i in range(num_shared_stages, num_stages)
            ]
        self.reduce_dimension = reduce_dimension
        super().__init__(
            depth=depth,
            num_experts=num_experts,
            num_shared_stages=num_shared_stages,
            expert_channels=expert_channels,
            shortcut=shortcut,
            **kwargs)
