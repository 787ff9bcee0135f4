# Copyright (c) shike-mm contributors. All rights reserved.
import copy
import re
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model.weight_init import constant_init
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models.backbones.base_backbone import BaseBackbone
from mmpretrain.models.backbones.resnet import (BasicBlock, Bottleneck,
                                                ResLayer, get_expansion)
from mmpretrain.models.backbones.resnext import \
    Bottleneck as ResNeXtBottleneck
from mmpretrain.registry import MODELS

from ..utils.arg_checks import check_num_experts
from .grouped_experts import can_group, grouped_forward
from .zero_pad_res_layer import ZeroPadResLayer


@MODELS.register_module()
class MultiExpertResNet(BaseBackbone):
    """ResNet split into a shared trunk and per-expert copies of its tail.

    The network is the usual ResNet stage list (built from mmpretrain's
    ``ResLayer`` with ``BasicBlock``, ``Bottleneck`` or ResNeXt's
    ``Bottleneck``). The stem and the first ``num_shared_stages`` stages are
    shared; every later stage is instantiated once per expert. That one
    parameter covers both splits used in this project:

    - SHIKE: ``num_shared_stages = num_stages - 1`` (only the last stage is
      per expert), see :class:`SHIKEResNet`.
    - RIDE: ``num_shared_stages=1`` with ``expert_channels=(24, 48)`` (stages
      2-3 per expert, narrowed) and ``shortcut='zero_pad'``, see
      :class:`RIDEResNet`.

    Module names (they matter for pretrained weights and parameter groups):
    stem ``conv1``/``bn1`` (+ ``maxpool`` for ImageNet), shared stages
    ``layer1`` .. ``layer{S}``, expert m's stages
    ``experts.{m}.layer{S+1}`` .. ``experts.{m}.layer{num_stages}``, i.e. a
    stage keeps the name it has in mmpretrain's/torchvision's ``ResNet``.

    Architectures (``depth``):

    - CIFAR (6n + 2): 20, 32, 44, 56, 110. Stem 3x3 conv, 16 channels,
      stride 1 + BN + ReLU, no max-pool; 3 stages of ``BasicBlock`` with
      widths 16/32/64 and strides 1/2/2; 1x1 conv + BN shortcut where the
      shape changes.
    - ImageNet: 18, 34 (``BasicBlock``), 50, 101, 152 (``Bottleneck``).
      Stem 7x7 conv stride 2 + BN + ReLU + 3x3 max-pool stride 2; 4 stages,
      strides 1/2/2/2, outputs 64/128/256/512 x expansion. ``groups > 1``
      selects ResNeXt's bottleneck (ResNeXt-50 32x4d: ``depth=50,
      groups=32, width_per_group=4``).

    Args:
        depth (int): Network depth, a key of ``arch_settings``.
        num_experts (int): Number of experts M. Defaults to 3.
        num_shared_stages (int, optional): Number of shared stages S,
            ``0 <= S < num_stages``. Defaults to ``num_stages - 1``.
        in_channels (int): Input image channels. Defaults to 3.
        stem_channels (int, optional): Stem output channels. Defaults to 16
            (CIFAR) or 64 (ImageNet).
        base_channels (int, optional): Width of the first stage before the
            block expansion. Defaults to 16 (CIFAR) or 64 (ImageNet).
        expert_channels (Sequence[int], optional): Output channels of the
            per-expert stages (``num_stages - S`` values). Defaults to the
            plain ResNet widths.
        strides (Sequence[int], optional): Stride of the first block of each
            stage. Defaults to (1, 2, 2) (CIFAR) or (1, 2, 2, 2) (ImageNet).
        groups (int): Groups of the 3x3 conv in ResNeXt bottlenecks; 1 means
            a plain ResNet. Defaults to 1.
        width_per_group (int): ResNeXt width per group. Defaults to 4.
        style (str): 'pytorch' or 'caffe' (where the bottleneck strides).
            Defaults to 'pytorch'.
        avg_down (bool): AvgPool + 1x1 conv shortcut when downsampling.
            Defaults to False.
        shortcut (str): Shortcut where a block changes shape: 'conv'
            (1x1 conv + BN, mmpretrain's ``ResLayer``) or 'zero_pad'
            (parameter-free subsample + zero channels, "option A",
            :class:`ZeroPadResLayer`). Defaults to 'conv'.
        frozen_stages (int): Stages to freeze (no grad, BN in eval mode):
            -1 none, 0 the stem, k the stem and stages 1..k. A stage index
            above S freezes that stage in every expert. ``frozen_stages=S``
            freezes the whole shared part. Defaults to -1.
        conv_cfg (dict, optional): Conv layer config. Defaults to None.
        norm_cfg (dict): Norm layer config. Defaults to
            ``dict(type='BN', requires_grad=True)``.
        norm_eval (bool): Keep every BN in eval mode during training.
            Defaults to False.
        with_cp (bool): Gradient checkpointing inside the blocks.
            Defaults to False.
        zero_init_residual (bool): Zero-init the last BN of every block.
            Defaults to False (the SHIKE reference keeps BN defaults).
        grouped_experts (bool): Run the M expert copies of every layer as
            one grouped convolution / BatchNorm over the stacked channels
            (see :mod:`.grouped_experts`) instead of a Python loop over
            experts. Same parameters, same state dict, same mathematics;
            layers it does not support fall back to the loop. Opt-in: it
            re-implements mmpretrain's block forwards and measured 1.01x
            of the loop's training speed on a CPU (docs/performance.md).
            Defaults to False.
        channels_last (bool): Keep conv weights and activations in the
            channels-last memory format: faster convolutions on CPUs (and
            usually on GPUs with tensor cores), same mathematics, other
            rounding. Off by default because PyTorch's channels-last
            BatchNorm on CPUs accumulates its statistics less accurately
            (about 6e-6 relative error at batch 128 on 32x32 maps, against
            1e-7 in NCHW). Defaults to False.
        init_cfg (dict | list[dict], optional): Defaults to Kaiming-normal
            (``mode='fan_in'``, as ``nn.init.kaiming_normal_``) for convs
            and weight 1 / bias 0 for norms. A ``dict(type='Pretrained',
            checkpoint=..., prefix=...)`` entry is mmengine's own loader; it
            runs after the other entries (the default init if it is the only
            one, so layers the checkpoint lacks, e.g. the DKF alignment, are
            still initialised), and a plain single-path ResNet checkpoint is
            mapped onto every expert while loading (see
            :meth:`convert_single_path_state_dict`). Use
            ``prefix='backbone.'`` for a full mmpretrain classifier
            checkpoint.

    Shapes:
        - input: (B, in_channels, H, W)
        - output: tuple of M tensors (B, C_last, H_last, W_last), one per
          expert (the last per-expert stage output).
    """

    arch_settings = {
        # depth: (block, blocks per stage, stem type)
        20: (BasicBlock, (3, 3, 3), 'cifar'),
        32: (BasicBlock, (5, 5, 5), 'cifar'),
        44: (BasicBlock, (7, 7, 7), 'cifar'),
        56: (BasicBlock, (9, 9, 9), 'cifar'),
        110: (BasicBlock, (18, 18, 18), 'cifar'),
        18: (BasicBlock, (2, 2, 2, 2), 'imagenet'),
        34: (BasicBlock, (3, 4, 6, 3), 'imagenet'),
        50: (Bottleneck, (3, 4, 6, 3), 'imagenet'),
        101: (Bottleneck, (3, 4, 23, 3), 'imagenet'),
        152: (Bottleneck, (3, 8, 36, 3), 'imagenet'),
    }
    stem_settings = {
        'cifar': dict(stem_channels=16, base_channels=16, strides=(1, 2, 2)),
        'imagenet':
        dict(stem_channels=64, base_channels=64, strides=(1, 2, 2, 2)),
    }
    default_init_cfg = [
        dict(type='Kaiming', layer=['Conv2d'], mode='fan_in'),
        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
    ]

    def __init__(self,
                 depth: int,
                 num_experts: int = 3,
                 num_shared_stages: Optional[int] = None,
                 in_channels: int = 3,
                 stem_channels: Optional[int] = None,
                 base_channels: Optional[int] = None,
                 expert_channels: Optional[Sequence[int]] = None,
                 strides: Optional[Sequence[int]] = None,
                 groups: int = 1,
                 width_per_group: int = 4,
                 style: str = 'pytorch',
                 avg_down: bool = False,
                 shortcut: str = 'conv',
                 frozen_stages: int = -1,
                 conv_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 zero_init_residual: bool = False,
                 grouped_experts: bool = False,
                 channels_last: bool = False,
                 init_cfg=None):
        super().__init__(self._complete_init_cfg(init_cfg))
        self.register_load_state_dict_pre_hook(_convert_on_load)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for {type(self).__name__},'
                           f' choose from {sorted(self.arch_settings)}')
        num_experts = check_num_experts(num_experts, type(self).__name__,
                                        'model.backbone.num_experts')
        block, stage_blocks, stem_type = self.arch_settings[depth]
        stem_defaults = self.stem_settings[stem_type]
        self.depth = depth
        self.stem_type = stem_type
        self.num_experts = num_experts
        self.stage_blocks = tuple(stage_blocks)
        self.num_stages = len(stage_blocks)
        if num_shared_stages is None:
            num_shared_stages = self.num_stages - 1
        if not 0 <= num_shared_stages < self.num_stages:
            raise ValueError(
                f'num_shared_stages must be in [0, {self.num_stages - 1}] '
                f'for depth {depth}, got {num_shared_stages}')
        self.num_shared_stages = num_shared_stages
        self.stem_channels = stem_channels or stem_defaults['stem_channels']
        self.base_channels = base_channels or stem_defaults['base_channels']
        self.strides = tuple(strides or stem_defaults['strides'])
        if len(self.strides) != self.num_stages:
            raise ValueError(f'strides needs {self.num_stages} values, got '
                             f'{self.strides}')
        self.groups = groups
        self.width_per_group = width_per_group
        if groups > 1:
            if block is not Bottleneck:
                raise ValueError('groups > 1 (ResNeXt) needs a bottleneck '
                                 f'depth, got depth={depth}')
            block = ResNeXtBottleneck
        self.block = block
        self.expansion = get_expansion(block)
        self.style = style
        self.avg_down = avg_down
        if shortcut not in ('conv', 'zero_pad'):
            raise ValueError("shortcut must be 'conv' or 'zero_pad', got "
                             f'{shortcut!r}')
        self.shortcut = shortcut
        self.frozen_stages = frozen_stages
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.zero_init_residual = zero_init_residual
        self.grouped_experts = grouped_experts
        self.channels_last = channels_last

        # Output channels of every stage, per-expert ones possibly narrowed.
        stage_channels = [
            self.base_channels * self.expansion * 2**i
            for i in range(self.num_stages)
        ]
        num_expert_stages = self.num_stages - num_shared_stages
        if expert_channels is not None:
            if len(expert_channels) != num_expert_stages:
                raise ValueError(
                    f'expert_channels needs {num_expert_stages} values (one '
                    f'per expert stage), got {tuple(expert_channels)}')
            stage_channels[num_shared_stages:] = list(expert_channels)
        self.stage_channels = tuple(stage_channels)

        self._make_stem_layer(in_channels, self.stem_channels)
        # Shared stages.
        self.shared_layers = []
        _in = self.stem_channels
        for i in range(num_shared_stages):
            name = f'layer{i + 1}'
            self.add_module(name, self.make_stage(i, _in, stage_channels[i]))
            self.shared_layers.append(name)
            _in = stage_channels[i]
        # Per-expert stages.
        self.experts = nn.ModuleList()
        for _ in range(num_experts):
            layers = OrderedDict()
            _exp_in = _in
            for i in range(num_shared_stages, self.num_stages):
                layers[f'layer{i + 1}'] = self.make_stage(
                    i, _exp_in, stage_channels[i])
                _exp_in = stage_channels[i]
            self.experts.append(nn.Sequential(layers))
        self.feat_dim = stage_channels[-1]

        self._freeze_stages()
        self._apply_memory_format()

    # ------------------------------------------------------------------
    # construction
    # ------------------------------------------------------------------
    def make_res_layer(self, **kwargs) -> nn.Module:
        """Build one residual stage; the single hook for block variants.

        Receives ``ResLayer`` keyword arguments (``block``, ``num_blocks``,
        ``in_channels``, ``out_channels``, ``expansion``, ``stride``,
        ``style``, ``avg_down``, ``with_cp``, ``conv_cfg``, ``norm_cfg`` and
        for ResNeXt ``groups``, ``width_per_group``, ``base_channels``).
        ``shortcut='zero_pad'`` builds a :class:`ZeroPadResLayer` instead.
        """
        if self.shortcut == 'zero_pad':
            return ZeroPadResLayer(**kwargs)
        return ResLayer(**kwargs)

    def make_stage(self, stage_idx: int, in_channels: int,
                   out_channels: int) -> nn.Module:
        """Build stage ``stage_idx`` (0-based) of the architecture.

        Shared and per-expert stages are built by this same method; only
        ``in_channels``/``out_channels`` may differ (narrowed experts).

        Args:
            stage_idx (int): 0-based stage index.
            in_channels (int): Input channels.
            out_channels (int): Output channels (after expansion).

        Returns:
            nn.Module: The stage (an mmpretrain ``ResLayer`` by default).
        """
        kwargs = dict(
            block=self.block,
            num_blocks=self.stage_blocks[stage_idx],
            in_channels=in_channels,
            out_channels=out_channels,
            expansion=self.expansion,
            stride=self.strides[stage_idx],
            style=self.style,
            avg_down=self.avg_down,
            with_cp=self.with_cp,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg)
        if self.groups > 1:
            kwargs.update(
                groups=self.groups,
                width_per_group=self.width_per_group,
                base_channels=self.base_channels)
        return self.make_res_layer(**kwargs)

    def _make_stem_layer(self, in_channels: int, stem_channels: int) -> None:
        cifar = self.stem_type == 'cifar'
        self.conv1 = build_conv_layer(
            self.conv_cfg,
            in_channels,
            stem_channels,
            kernel_size=3 if cifar else 7,
            stride=1 if cifar else 2,
            padding=1 if cifar else 3,
            bias=False)
        self.norm1_name, norm1 = build_norm_layer(
            self.norm_cfg, stem_channels, postfix=1)
        self.add_module(self.norm1_name, norm1)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.Identity() if cifar else nn.MaxPool2d(
            kernel_size=3, stride=2, padding=1)

    @property
    def norm1(self) -> nn.Module:
        return getattr(self, self.norm1_name)

    # ------------------------------------------------------------------
    # forward
    # ------------------------------------------------------------------
    def _apply_memory_format(self) -> None:
        """Put 4-D parameters in channels-last format if asked to.

        Called at the end of construction (subclasses that add layers call
        it again). In-place initialisation and ``load_state_dict`` keep the
        format, and so does the optimizer state built from the parameters.
        """
        if self.channels_last:
            self.to(memory_format=torch.channels_last)

    def forward_stem(self, x: torch.Tensor) -> torch.Tensor:
        """Stem: (B, 3, H, W) -> (B, stem_channels, H', W')."""
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.relu(self.norm1(self.conv1(x)))
        return self.maxpool(x)

    def forward_shared(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run the shared part.

        Args:
            x (Tensor): Images, shape (B, in_channels, H, W).

        Returns:
            list[Tensor]: ``S + 1`` maps; index 0 is the stem output and
            index s (1-based, like ``fusion_stages``) the output of shared
            stage s. The last one is the experts' input.
        """
        feats = [self.forward_stem(x)]
        for name in self.shared_layers:
            feats.append(getattr(self, name)(feats[-1]))
        return feats

    def forward_experts(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Run every expert's private stages on the shared feature.

        With ``grouped_experts`` (and layers :func:`can_group` supports)
        the M copies run as one grouped computation and the M maps are
        channel slices of its output; otherwise a loop over experts.

        Args:
            x (Tensor): Output of the last shared stage, (B, C_S, H_S, W_S).

        Returns:
            list[Tensor]: M maps of shape (B, C_last, H_last, W_last).
        """
        experts = list(self.experts)
        if self.grouped_experts and len(experts) > 1 and can_group(experts):
            stacked = grouped_forward(experts, x, shared=True)
            return list(stacked.chunk(len(experts), dim=1))
        return [expert(x) for expert in experts]

    def fuse(self, shared_feats: List[torch.Tensor],
             expert_feats: List[torch.Tensor]) -> List[torch.Tensor]:
        """Combine shared and expert features; identity (plain MoE) here."""
        return expert_feats

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Forward.

        Args:
            x (Tensor): Images, shape (B, in_channels, H, W).

        Returns:
            tuple[Tensor]: One (B, C_last, H_last, W_last) map per expert.
        """
        shared_feats = self.forward_shared(x)
        expert_feats = self.forward_experts(shared_feats[-1])
        return tuple(self.fuse(shared_feats, expert_feats))

    # ------------------------------------------------------------------
    # freezing / train mode
    # ------------------------------------------------------------------
    def _stage_modules(self, stage: int) -> List[nn.Module]:
        """Modules of 1-based ``stage`` (one per expert if not shared)."""
        if stage <= self.num_shared_stages:
            return [getattr(self, f'layer{stage}')]
        return [getattr(expert, f'layer{stage}') for expert in self.experts]

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            for m in (self.conv1, self.norm1):
                m.eval()
                for param in m.parameters():
                    param.requires_grad = False
        for stage in range(1, min(self.frozen_stages, self.num_stages) + 1):
            for m in self._stage_modules(stage):
                m.eval()
                for param in m.parameters():
                    param.requires_grad = False

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    # ------------------------------------------------------------------
    # initialisation
    # ------------------------------------------------------------------
    @classmethod
    def _complete_init_cfg(cls, init_cfg):
        """Default init if None; the default init before a lone Pretrained.

        mmengine applies ``Pretrained`` after every other entry; when it is
        the only entry, layers the checkpoint does not cover would keep
        PyTorch's default init, so the class default init is added first.
        """
        if init_cfg is None:
            return copy.deepcopy(cls.default_init_cfg)
        cfgs = [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg)
        if cfgs and all(c.get('type') == 'Pretrained' for c in cfgs):
            return copy.deepcopy(cls.default_init_cfg) + cfgs
        return init_cfg

    def convert_single_path_state_dict(
            self,
            state_dict: Dict[str, torch.Tensor],
            prefix: str = '') -> 'OrderedDict[str, torch.Tensor]':
        """Map a plain ResNet state dict onto this multi-expert layout.

        ``{prefix}layer{k}.*`` of a per-expert stage k is copied to
        ``{prefix}experts.{m}.layer{k}.*`` for every expert m, so the single
        pretrained stage initialises every copy. Every other key (stem,
        shared stages, ``fc.*``, keys of this model's own layout) is kept.
        Called on every ``load_state_dict`` (a load-state-dict pre-hook
        registered in ``__init__``), so mmengine's ``Pretrained`` init and
        ``load_checkpoint`` accept mmpretrain's / torchvision's ``ResNet``
        checkpoints directly.

        Args:
            state_dict (dict[str, Tensor]): Keys as in mmpretrain's or
                torchvision's ``ResNet`` (``conv1``, ``bn1``, ``layer1``..).
            prefix (str): Prefix of this backbone's keys. Defaults to ''.

        Returns:
            OrderedDict[str, Tensor]: The converted state dict.
        """
        out = OrderedDict()
        pattern = re.compile(r'^layer(\d+)\.')
        for key, value in state_dict.items():
            rest = key[len(prefix):] if key.startswith(prefix) else None
            match = pattern.match(rest) if rest is not None else None
            if match and int(match.group(1)) > self.num_shared_stages:
                for m in range(self.num_experts):
                    out[f'{prefix}experts.{m}.{rest}'] = value
            else:
                out[key] = value
        return out

    def init_weights(self) -> None:
        """Initialise weights with mmengine's ``init_cfg`` machinery.

        ``zero_init_residual`` then zeroes the last BN of every block,
        unless a ``Pretrained`` checkpoint was loaded. Random init runs on
        contiguous (NCHW) weights, so ``channels_last`` does not change the
        initial values drawn for a given seed.
        """
        if self.channels_last:
            self.to(memory_format=torch.contiguous_format)
        super().init_weights()
        self._apply_memory_format()
        cfgs = self.init_cfg if isinstance(self.init_cfg,
                                           list) else [self.init_cfg]
        pretrained = any(c.get('type') == 'Pretrained' for c in cfgs)
        if self.zero_init_residual and not pretrained:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    constant_init(m.norm3, 0)
                elif isinstance(m, BasicBlock):
                    constant_init(m.norm2, 0)


def _convert_on_load(module: MultiExpertResNet, state_dict: dict, prefix: str,
                     *args) -> None:
    """Load-state-dict pre-hook: convert single-path keys in place
    (:meth:`MultiExpertResNet.convert_single_path_state_dict`)."""
    converted = module.convert_single_path_state_dict(state_dict, prefix)
    if len(converted) != len(state_dict):
        state_dict.clear()
        state_dict.update(converted)
