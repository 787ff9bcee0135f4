# Copyright (c) shike-mm contributors. All rights reserved.
"""SHIKE ResNet-32 written the straightforward way, as a test oracle.

The same network and stage-1 loss as ``configs/_base_/models/
shike_r32_cifar.py`` (SHIKE, Jin et al., CVPR 2023; the authors' reference
is github.com/jinyan-06/SHIKE), written as most research code writes it:
one module per expert called in a Python loop, NCHW tensors, every loss
term collected per expert (or per expert pair) in Python lists. It uses no
shike-mm or mmpretrain model code, only plain PyTorch, so it is also an
independent check of the real model (``tests/unit/models/
test_fast_equivalence.py``).

Its parameter names are those of the real ``ImageClassifier``
(``backbone.experts.{m}.layer3.*``, ``backbone.fusion_layers.{m}.*``,
``head.classifiers.{m}.weight``...), so ``state_dict`` and
``load_state_dict`` move weights between the two: a plain state dict is a
checkpoint in the per-expert layout.

Used by ``tools/check_numerics.py`` as the exact result (in float64). It is
a test oracle, not a speed reference: ``tools/benchmark.py
--reference-repo`` times the public SHIKE code itself.
"""
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv3x3(in_channels: int, out_channels: int, stride: int = 1):
    return nn.Conv2d(
        in_channels, out_channels, 3, stride=stride, padding=1, bias=False)


class PlainBasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN + shortcut (1x1 conv + BN on a shape
    change), ReLU."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = conv3x3(in_channels, out_channels, stride)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = conv3x3(out_channels, out_channels)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.downsample = None
        if stride != 1 or in_channels != out_channels:
            self.downsample = nn.Sequential(
                nn.Conv2d(
                    in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        shortcut = x if self.downsample is None else self.downsample(x)
        return F.relu(out + shortcut)


def make_stage(in_channels, out_channels, num_blocks, stride):
    blocks = [PlainBasicBlock(in_channels, out_channels, stride)]
    blocks += [
        PlainBasicBlock(out_channels, out_channels, 1)
        for _ in range(num_blocks - 1)
    ]
    return nn.Sequential(*blocks)


class AlignUnit(nn.Module):
    """3x3 stride-2 conv + BN (+ ReLU), one unit of a DKF chain."""

    def __init__(self, in_channels, out_channels, relu):
        super().__init__()
        self.conv = conv3x3(in_channels, out_channels, stride=2)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = relu

    def forward(self, x):
        x = self.bn(self.conv(x))
        return F.relu(x) if self.relu else x


class PlainBackbone(nn.Module):
    """CIFAR ResNet (6n + 2) with stage 3 per expert and DKF (Eq. 3)."""

    def __init__(self,
                 depth: int = 32,
                 num_experts: int = 3,
                 fusion_stages: Optional[Sequence[int]] = None):
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f'CIFAR ResNet depth must be 6n + 2, got {depth}')
        n = (depth - 2) // 6
        widths = (16, 32, 64)
        self.conv1 = conv3x3(3, 16)
        self.bn1 = nn.BatchNorm2d(16)
        self.layer1 = make_stage(16, widths[0], n, 1)
        self.layer2 = make_stage(widths[0], widths[1], n, 2)
        self.experts = nn.ModuleList([
            nn.Sequential(
                OrderedDict(layer3=make_stage(widths[1], widths[2], n, 2)))
            for _ in range(num_experts)
        ])
        if fusion_stages is None:  # expert m fuses stage (m mod 2) + 1
            fusion_stages = [m % 2 + 1 for m in range(num_experts)]
        self.fusion_stages = list(fusion_stages)
        self.fusion_layers = nn.ModuleList()
        for stage in self.fusion_stages:
            units = []
            for pos, k in enumerate(range(stage, 3)):
                units.append(
                    AlignUnit(widths[k - 1], widths[k], relu=pos != 1))
            self.fusion_layers.append(nn.Sequential(*units))

    def forward(self, x) -> List[torch.Tensor]:
        x = F.relu(self.bn1(self.conv1(x)))
        f1 = self.layer1(x)
        f2 = self.layer2(f1)
        shared = {1: f1, 2: f2}
        outs = []
        for m in range(len(self.experts)):
            expert_out = self.experts[m](f2)
            aligned = self.fusion_layers[m](shared[self.fusion_stages[m]])
            outs.append(expert_out * aligned)
        return outs


class PlainCosine(nn.Module):

    def __init__(self, in_features, num_classes, scale=30.0):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_classes, in_features))
        nn.init.uniform_(self.weight, -1, 1)
        self.scale = scale

    def forward(self, x):
        return self.scale * F.normalize(
            x, dim=1) @ F.normalize(
                self.weight, dim=1).t()


class PlainHead(nn.Module):

    def __init__(self, in_features, num_classes, num_experts):
        super().__init__()
        self.classifiers = nn.ModuleList([
            PlainCosine(in_features, num_classes) for _ in range(num_experts)
        ])
        # stage-2 classifiers, unused in stage 1 (same parameter count)
        self.retrain_classifiers = nn.ModuleList([
            PlainCosine(in_features, num_classes) for _ in range(num_experts)
        ])


def plain_losses(
        logits: List[torch.Tensor],
        target: torch.Tensor,
        dkt_weight: float = 10.0,
        mutual_weight: float = 1.0,
        student_target_value: float = -30.0) -> Dict[str, torch.Tensor]:
    """SHIKE's stage-1 loss (Eq. 4-10), term by term, from the equations.

    Args:
        logits (list[Tensor]): M tensors (B, C).
        target (Tensor): (B, ) class indices.

    Returns:
        dict[str, Tensor]: ``loss_ce`` (sum over experts of the batch-mean
        CE), ``loss_dkt`` and ``loss_mutual`` (KL sums divided by B * C,
        times their weights), as the real head computes them.
    """
    num_experts = len(logits)
    batch_size, num_classes = logits[0].shape
    rows = torch.arange(batch_size)

    ce_terms = []
    for z in logits:
        ce_terms.append(F.cross_entropy(z, target))

    # DKT: the grand teacher takes the max over experts at every non-target
    # class and the mean over experts at the consensus hardest negative;
    # its target position is 0, each student's target logit is replaced.
    mean = sum(logits) / num_experts
    best = logits[0]
    for z in logits[1:]:
        best = torch.maximum(best, z)
    masked_mean = mean.clone()
    masked_mean[rows, target] = float('-inf')
    hardest = masked_mean.argmax(dim=1)
    teacher = best.clone()
    teacher[rows, hardest] = mean[rows, hardest]
    teacher[rows, target] = 0.0
    log_teacher = F.log_softmax(teacher, dim=1)
    dkt_terms = []
    for z in logits:
        student = z.clone()
        student[rows, target] = student_target_value
        log_student = F.log_softmax(student, dim=1)
        dkt_terms.append(
            (log_teacher.exp() * (log_teacher - log_student)).sum())

    # Mutual distillation: KL(p_j || p_i) for every ordered pair.
    mutual_terms = []
    for j in range(num_experts):
        log_pj = F.log_softmax(logits[j], dim=1)
        for i in range(num_experts):
            if i == j:
                continue
            log_pi = F.log_softmax(logits[i], dim=1)
            mutual_terms.append((log_pj.exp() * (log_pj - log_pi)).sum())

    elements = batch_size * num_classes
    return dict(
        loss_ce=sum(ce_terms),
        loss_dkt=dkt_weight * sum(dkt_terms) / elements,
        loss_mutual=mutual_weight * sum(mutual_terms) / elements)


class PlainSHIKE(nn.Module):
    """Backbone, global average pooling, per-expert cosine classifiers.

    Args:
        num_classes (int): C. Defaults to 100.
        depth (int): CIFAR ResNet depth. Defaults to 32.
        num_experts (int): M. Defaults to 3.
        fusion_stages (Sequence[int], optional): Shared stage fused by each
            expert; defaults to the cyclic rule (m mod 2) + 1.
        data_preprocessor (nn.Module, optional): mmengine data
            preprocessor used by :meth:`train_step` (the real model's, so
            both see the same normalised batch).
    """

    def __init__(self,
                 num_classes: int = 100,
                 depth: int = 32,
                 num_experts: int = 3,
                 fusion_stages: Optional[Sequence[int]] = None,
                 data_preprocessor: Optional[nn.Module] = None):
        super().__init__()
        self.backbone = PlainBackbone(depth, num_experts, fusion_stages)
        self.head = PlainHead(64, num_classes, num_experts)
        # not a submodule: keeps the state dict to backbone.* and head.*
        self.__dict__['data_preprocessor'] = data_preprocessor

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        """Images (B, 3, H, W) -> M logits (B, C)."""
        feats = self.backbone(x)
        logits = []
        for m, feat in enumerate(feats):
            pooled = feat.mean(dim=(2, 3))
            logits.append(self.head.classifiers[m](pooled))
        return logits

    def loss(self, x: torch.Tensor,
             target: torch.Tensor) -> Dict[str, torch.Tensor]:
        return plain_losses(self(x), target)

    def train_step(self, data: dict, optim_wrapper) -> Dict[str, torch.Tensor]:
        """One training step, as mmengine's ``BaseModel.train_step``."""
        data = self.data_preprocessor(data, True)
        target = torch.cat([s.gt_label for s in data['data_samples']
                            ]).to(data['inputs'].device)
        losses = self.loss(data['inputs'], target)
        loss = sum(losses.values())
        optim_wrapper.update_params(loss)
        return {k: v.detach() for k, v in losses.items()}

    @torch.no_grad()
    def test_step(self, data: dict) -> torch.Tensor:
        """Class probabilities (softmax of the mean logits), (B, C)."""
        data = self.data_preprocessor(data, False)
        logits = self(data['inputs'])
        return F.softmax(sum(logits) / len(logits), dim=1)


def build_plain(model, cfg):
    """The plain model with the weights of ``model`` (an ``ImageClassifier``
    built from ``cfg``, a SHIKE ResNet-32 config)."""
    backbone, head = cfg.model.backbone, cfg.model.head
    supported = (
        backbone.get('type') == 'SHIKEResNet'
        and backbone.get('depth') in (20, 32, 44, 56, 110)
        and backbone.get('fusion', 'hadamard') in ('hadamard', True)
        and backbone.get('fusion_align', 'conv3x3') == 'conv3x3'
        and head.get('type') == 'MultiExpertFusionHead'
        and head.get('classifier', {}).get('type') == 'CosineClassifier')
    if not supported:
        raise ValueError(
            'shike_mm/testing/plain_shike.py implements the CIFAR '
            'SHIKE model only (SHIKEResNet depth 6n+2 with the conv3x3 DKF, '
            'MultiExpertFusionHead with cosine classifiers); '
            f'{cfg.filename} has backbone {dict(backbone)}')
    plain = PlainSHIKE(
        num_classes=head.num_classes,
        depth=backbone.depth,
        num_experts=backbone.get('num_experts', 3),
        fusion_stages=model.backbone.fusion_stages,
        data_preprocessor=model.data_preprocessor)
    state = {
        k: v
        for k, v in model.state_dict().items() if k in plain.state_dict()
    }
    plain.load_state_dict(state, strict=True)
    return plain
