# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmpretrain.registry import MODELS

from ..utils.arg_checks import check_num_experts
from .grouped_experts import can_group, grouped_forward
from .multi_expert_resnet import MultiExpertResNet


@MODELS.register_module()
class SHIKEResNet(MultiExpertResNet):
    """Multi-expert ResNet with Depth-wise Knowledge Fusion (SHIKE, Eq. 3).

    The stem and the first S stages are shared (S = ``num_stages - 1`` by
    default: stages 1-2 of a CIFAR ResNet, 1-3 of an ImageNet ResNet); each
    expert owns a copy of the remaining stage(s), see
    :class:`MultiExpertResNet`. Expert m fuses the output of shared stage
    ``fusion_stages[m]`` into its own output:

    ``out_m = expert_m(f_S) * align_m(f_{fusion_stages[m]})`` (Hadamard).

    ``align_m`` maps the shared feature to the shape of the expert output;
    ``fusion_align`` picks how:

    ``'conv3x3'`` (the reference, CIFAR default): a chain of units, one per
    stage between the fused stage and the last stage: 3x3 conv (stride =
    that stage's stride, i.e. 2; padding 1; no bias; channels -> that
    stage's width, i.e. doubled) + BN,
    followed by ReLU except for the unit at 0-based position 1 of the chain
    (reference: length 1 = conv-BN-ReLU, length 2 = conv-BN-ReLU, conv-BN;
    longer chains keep ReLU after every other unit, e.g. length 3 =
    conv-BN-ReLU, conv-BN, conv-BN-ReLU). The chain ends at the shape of the
    expert output (ImageNet: 256/512/1024 -> 2048 channels, 1/32 scale).
    On ResNet-50 the three chains hold about 67 M parameters and 5.5 G
    multiply-adds, more than the three stage-4 copies.

    ``'pool_conv1x1'`` (light, the ImageNet-scale default): average pooling
    over the whole stride (kernel = stride = product of the skipped stages'
    strides, ``ceil_mode`` so odd sizes match the strided chain), then one
    1x1 conv + BN + ReLU to the expert width (the one-unit chain's
    conv-BN-ReLU). A 1x1 conv commutes with average pooling, so this is
    "1x1 conv at full resolution, then pooled", computed at the output
    resolution: about 3.7 M parameters and 0.18 G multiply-adds for ResNet-50
    (see ``configs/shike/README.md``).

    Default ``fusion_stages`` (``fusion_rule=None`` picks by architecture):

    - ``'cyclic'`` (CIFAR default): expert m fuses stage ``(m mod S) + 1``,
      defined for any M. With S = 2: experts 0, 2 -> stage 1 and expert
      1 -> stage 2 (the reference).
    - ``'unique'`` (ImageNet default): expert m fuses stage ``m + 1``, one
      distinct depth per expert (paper Sec. 3.2 assumes M <= S), so M > S
      raises ``ValueError`` unless ``fusion_stages`` is given explicitly.

    Args:
        depth (int): See :class:`MultiExpertResNet`.
        num_experts (int): Number of experts M. Defaults to 3.
        fusion (str | bool | None): ``'hadamard'`` (or True) for DKF; None
            or False for a plain MoE (no alignment layers, expert outputs
            returned as is). Defaults to 'hadamard'.
        fusion_stages (Sequence[int], optional): 1-based shared stage fused
            by each expert (length M, values in 1..S). Defaults to None
            (use ``fusion_rule``).
        fusion_rule (str, optional): 'cyclic' or 'unique', used when
            ``fusion_stages`` is None. Defaults to None: 'cyclic' for CIFAR
            depths, 'unique' for ImageNet depths.
        fusion_align (str): 'conv3x3' (reference chain) or 'pool_conv1x1'
            (light). Defaults to 'conv3x3'.
        **kwargs: Other arguments of :class:`MultiExpertResNet`
            (``num_shared_stages``, ``groups``, ``frozen_stages``,
            ``norm_eval``, ``init_cfg``, ...).

    Shapes:
        - input: (B, 3, H, W)
        - output: tuple of M fused maps (B, C_last, H_last, W_last)
          (CIFAR R32 at 32x32: (B, 64, 8, 8); ImageNet R50 at 224x224:
          (B, 2048, 7, 7)).

    Example:
        >>> import torch
        >>> from shike_mm.models import SHIKEResNet
        >>> model = SHIKEResNet(depth=32, num_experts=3).eval()
        >>> outs = model(torch.rand(2, 3, 32, 32))
        >>> [tuple(o.shape) for o in outs]
        [(2, 64, 8, 8), (2, 64, 8, 8), (2, 64, 8, 8)]
    """

    fusion_modes = ('hadamard', )
    align_modes = ('conv3x3', 'pool_conv1x1')

    def __init__(self,
                 depth: int,
                 num_experts: int = 3,
                 fusion: Union[str, bool, None] = 'hadamard',
                 fusion_stages: Optional[Sequence[int]] = None,
                 fusion_rule: Optional[str] = None,
                 fusion_align: str = 'conv3x3',
                 **kwargs):
        if fusion is True:
            fusion = 'hadamard'
        if fusion is False:
            fusion = None
        if fusion is not None and fusion not in self.fusion_modes:
            raise ValueError(f'fusion must be one of {self.fusion_modes} or '
                             f'None/False, got {fusion!r}')
        if fusion_align not in self.align_modes:
            raise ValueError(f'fusion_align must be one of '
                             f'{self.align_modes}, got {fusion_align!r}')
        # Validate the assignment before building (ImageNet models are big);
        # num_experts first, or a bad one is reported as a fusion_stages one.
        num_experts = check_num_experts(num_experts, type(self).__name__,
                                        'model.backbone.num_experts')
        resolved: Tuple[int, ...] = ()
        if fusion is not None and depth in self.arch_settings:
            _, stage_blocks, stem_type = self.arch_settings[depth]
            num_shared = kwargs.get('num_shared_stages')
            if num_shared is None:
                num_shared = len(stage_blocks) - 1
            resolved = self.resolve_fusion_stages(num_experts, num_shared,
                                                  stem_type, fusion_stages,
                                                  fusion_rule)
        super().__init__(depth=depth, num_experts=num_experts, **kwargs)
        self.fusion = fusion
        self.fusion_align = fusion_align
        self.fusion_stages = resolved
        self.fusion_layers = nn.ModuleList(
            [self.make_fusion_chain(stage) for stage in resolved])
        self._apply_memory_format()

    @staticmethod
    def resolve_fusion_stages(
            num_experts: int,
            num_shared: int,
            stem_type: str,
            fusion_stages: Optional[Sequence[int]] = None,
            fusion_rule: Optional[str] = None) -> Tuple[int, ...]:
        """Shared stage (1-based) fused by each expert.

        Args:
            num_experts (int): M.
            num_shared (int): Number of shared stages S.
            stem_type (str): 'cifar' or 'imagenet' (picks the default rule).
            fusion_stages (Sequence[int], optional): Explicit assignment,
                validated and returned.
            fusion_rule (str, optional): 'cyclic', 'unique' or None.

        Returns:
            tuple[int]: M stage indices in 1..S.
        """
        if num_shared < 1:
            raise ValueError('Depth-wise Knowledge Fusion needs at least one '
                             'shared stage (num_shared_stages >= 1) or '
                             'fusion=None')
        if fusion_stages is None:
            if fusion_rule is None:
                fusion_rule = 'cyclic' if stem_type == 'cifar' else 'unique'
            if fusion_rule == 'cyclic':
                fusion_stages = [(m % num_shared) + 1
                                 for m in range(num_experts)]
            elif fusion_rule == 'unique':
                if num_experts > num_shared:
                    raise ValueError(
                        f'num_experts={num_experts} > number of shared '
                        f'stages ({num_shared}): the default fusion rule '
                        "'unique' gives every expert a distinct shared "
                        'stage, so it needs num_experts <= shared stages. '
                        'Pass fusion_stages explicitly (one 1-based shared '
                        f'stage index in 1..{num_shared} per expert), use '
                        "fusion_rule='cyclic', or fusion=None.")
                fusion_stages = list(range(1, num_experts + 1))
            else:
                raise ValueError("fusion_rule must be 'cyclic', 'unique' or "
                                 f'None, got {fusion_rule!r}')
        fusion_stages = tuple(int(s) for s in fusion_stages)
        if len(fusion_stages) != num_experts:
            raise ValueError(f'fusion_stages needs one stage per expert '
                             f'({num_experts}), got {fusion_stages}')
        if any(not 1 <= s <= num_shared for s in fusion_stages):
            raise ValueError(
                f'fusion_stages must be 1-based shared stage indices in '
                f'1..{num_shared}, got {fusion_stages}')
        return fusion_stages

    def make_fusion_chain(self, stage: int) -> nn.Sequential:
        """Alignment from shared stage ``stage`` to the expert output.

        Args:
            stage (int): 1-based shared stage index.

        Returns:
            nn.Sequential: ``'conv3x3'``: ``num_stages - stage``
            conv-BN(-ReLU) units; ``'pool_conv1x1'``: AvgPool2d (Identity
            if the stride is 1) and one 1x1 conv-BN-ReLU ``ConvModule``.
        """
        if self.fusion_align == 'pool_conv1x1':
            stride = 1
            for k in range(stage, self.num_stages):
                stride *= self.strides[k]
            pool = nn.AvgPool2d(
                stride, stride, ceil_mode=True) if stride > 1 else \
                nn.Identity()
            return nn.Sequential(
                pool,
                ConvModule(
                    self.stage_channels[stage - 1],
                    self.stage_channels[-1],
                    kernel_size=1,
                    bias=False,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=dict(type='ReLU')))
        units = []
        for pos, k in enumerate(range(stage, self.num_stages)):
            units.append(
                ConvModule(
                    self.stage_channels[k - 1],
                    self.stage_channels[k],
                    kernel_size=3,
                    stride=self.strides[k],
                    padding=1,
                    bias=False,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=None if pos == 1 else dict(type='ReLU')))
        return nn.Sequential(*units)

    def fuse(self, shared_feats: List[torch.Tensor],
             expert_feats: List[torch.Tensor]) -> List[torch.Tensor]:
        """Hadamard fusion of aligned shared features (Eq. 3).

        Args:
            shared_feats (list[Tensor]): From :meth:`forward_shared`; index s
                is shared stage s.
            expert_feats (list[Tensor]): M maps (B, C_last, H_last, W_last).

        Returns:
            list[Tensor]: M fused maps, same shapes as ``expert_feats``.
        """
        if self.fusion is None:
            return expert_feats
        aligned = self.align(shared_feats)
        return [feat * a for feat, a in zip(expert_feats, aligned)]

    def align(self, shared_feats: List[torch.Tensor]) -> List[torch.Tensor]:
        """Aligned shared feature of every expert, ``align_m(f_s)``.

        With ``grouped_experts``, the chains of experts that fuse the same
        stage run as one grouped computation (their input is shared).

        Args:
            shared_feats (list[Tensor]): From :meth:`forward_shared`.

        Returns:
            list[Tensor]: M maps shaped like the expert outputs.
        """
        out: List[Optional[torch.Tensor]] = [None] * len(self.fusion_layers)
        for stage in sorted(set(self.fusion_stages)):
            idx = [m for m, s in enumerate(self.fusion_stages) if s == stage]
            chains = [self.fusion_layers[m] for m in idx]
            feat = shared_feats[stage]
            if self.grouped_experts and len(idx) > 1 and can_group(chains):
                stacked = grouped_forward(chains, feat, shared=True)
                for m, a in zip(idx, stacked.chunk(len(idx), dim=1)):
                    out[m] = a
            else:
                for m, chain in zip(idx, chains):
                    out[m] = chain(feat)
        return out
