# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmpretrain.registry import MODELS

from ...utils.routing_flops import routing_relative_flops  # noqa: F401
from .expert_logits import stack_expert_logits

ExpertLogits = Union[torch.Tensor, Sequence[torch.Tensor]]


def running_ensemble_logits(expert_logits: ExpertLogits) -> torch.Tensor:
    """Mean logits of experts 0..i for every i.

    Args:
        expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C).

    Returns:
        Tensor: Shape (M, B, C); entry i is ``mean(z_0, ..., z_i)``.
    """
    z = stack_expert_logits(expert_logits)
    counts = torch.arange(
        1, z.size(0) + 1, device=z.device, dtype=z.dtype).view(-1, 1, 1)
    return z.cumsum(dim=0) / counts


def router_targets(expert_logits: ExpertLogits,
                   target: torch.Tensor) -> torch.Tensor:
    """Targets of RIDE's expert-assignment routers ("is the next expert
    needed?").

    With ``c_i`` = "the running ensemble of experts 0..i predicts the
    label" (argmax of the summed logits, as the reference), the target of
    router i (i = 0..M-2, deciding whether expert i+1 runs) is
    ``not c_i and any(c_j for j > i)``: the ensemble so far is wrong and
    adding more experts makes some later running ensemble right. Note: the
    later ensembles 0..j, not the individual experts j, are checked
    (github.com/frank-xwang/RIDE-LongTailRecognition,
    ``ea_resnet_cifar.py``).

    Args:
        expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C).
        target (Tensor): Class indices, shape (B, ).

    Returns:
        Tensor: bool, shape (M - 1, B).
    """
    z = stack_expert_logits(expert_logits)
    num_experts = z.size(0)
    correct = z.cumsum(dim=0).argmax(dim=-1) == target.view(1, -1)  # (M, B)
    # later[i] = any(correct[i+1:]), via a reversed cumulative "or".
    later = correct.flip(0).long().cumsum(0).flip(0) > 0
    return (~correct[:num_experts - 1]) & later[1:]


def router_loss(gate_logits: torch.Tensor,
                targets: torch.Tensor,
                pos_weight: float = 100.0) -> torch.Tensor:
    """BCE with logits of the M - 1 routers, averaged over the routers.

    Each router's loss is the batch mean of
    ``F.binary_cross_entropy_with_logits(..., pos_weight=pos_weight)``;
    the result is their mean (the reference sums and divides by M - 1).

    Args:
        gate_logits (Tensor): Shape (M - 1, B).
        targets (Tensor): bool or {0, 1}, shape (M - 1, B).
        pos_weight (float): Weight of the positive ("need the next expert")
            class. Defaults to 100.0.

    Returns:
        Tensor: Scalar.
    """
    if gate_logits.shape != targets.shape:
        raise ValueError(f'gate logits {tuple(gate_logits.shape)} and targets'
                         f' {tuple(targets.shape)} differ in shape')
    losses = F.binary_cross_entropy_with_logits(
        gate_logits,
        targets.to(gate_logits.dtype),
        pos_weight=gate_logits.new_tensor([pos_weight]),
        reduction='none')
    return losses.mean(dim=1).mean()


def routed_predict(
        gate_logits: torch.Tensor,
        expert_logits: ExpertLogits,
        threshold: float = 0.5) -> Tuple[torch.Tensor, torch.Tensor]:
    """Routed prediction: stop at the first expert whose router says no.

    Expert 0 always runs. After expert i (i < M - 1), the sample continues
    to expert i + 1 only if ``sigmoid(gate_logits[i]) > threshold``
    (reference: continue if > 0.5, so exactly 0.5 stops). The prediction
    is the mean of the logits of the experts used.

    The gates of router i depend only on experts 0..i, so computing all
    experts for every sample and applying the rule afterwards gives the
    same result as the reference's early exit (only the cost differs; see
    :func:`routing_relative_flops`).

    Args:
        gate_logits (Tensor): Shape (M - 1, B).
        expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C).
        threshold (float): Defaults to 0.5.

    Returns:
        tuple[Tensor, Tensor]: Routed mean logits (B, C) and the number of
        experts used per sample (B, ), int64 in [1, M].
    """
    z = stack_expert_logits(expert_logits)
    num_experts = z.size(0)
    if gate_logits.shape != (num_experts - 1, z.size(1)):
        raise ValueError(f'gate logits must have shape ({num_experts - 1}, '
                         f'{z.size(1)}), got {tuple(gate_logits.shape)}')
    go_on = torch.sigmoid(gate_logits) > threshold  # (M - 1, B)
    # Expert i (i >= 1) runs iff every router 0..i-1 said "go on".
    runs = torch.cat(
        [go_on.new_ones(1, z.size(1)),
         go_on.long().cumprod(dim=0).bool()],
        dim=0)  # (M, B)
    num_used = runs.sum(dim=0)
    logits = (z * runs.unsqueeze(-1).to(z.dtype)).sum(dim=0)
    logits = logits / num_used.unsqueeze(-1).to(z.dtype)
    return logits, num_used.long()


@MODELS.register_module()
class ExpertRouter(BaseModule):
    """RIDE's expert-assignment module ("EA"), generic over multi-expert
    models.

    Wang et al., ICLR 2021, Sec. 3.3; layout of the reference "EA" models
    (github.com/frank-xwang/RIDE-LongTailRecognition, ``ea_resnet_cifar.py``
    and ``fb_resnets/EAResNet.py``). For every expert i but the last,
    router i decides whether expert i + 1 is needed:

    ``h_i = ReLU(W_i f_i / ||f_i|| + b_i)`` (16 units), f_i the pooled
    feature of expert i; ``g_i = w^T [topk(zbar_i), h_i] + b``, ``zbar_i``
    the running-ensemble logits (mean of experts 0..i), ``topk`` its k
    largest values in descending order. The output layer ``w, b`` is
    shared by all routers (reference default; ``shared_fc=False`` gives
    one per router).

    Training (:meth:`loss`): BCE with ``pos_weight`` against
    :func:`router_targets`, averaged over the M - 1 routers. Inference
    (:meth:`predict`): :func:`routed_predict`.

    Linear weights are Kaiming-normal (``fan_in``) as the reference's
    ``kaiming_normal_``; biases start at 0.

    Args:
        in_channels (int | Sequence[int]): Feature dimension of the
            experts (one value, or one per expert; the last is unused).
        num_experts (int): M >= 2.
        top_k (int): k. Defaults to 30 (CIFAR; 50 at ImageNet scale).
        hidden_channels (int): Defaults to 16.
        shared_fc (bool): Share the output layer. Defaults to True.
        pos_weight (float): BCE positive weight. Defaults to 100.0.
        threshold (float): Sigmoid threshold to continue. Defaults to 0.5.
        init_cfg (dict | list[dict], optional): Defaults to the Kaiming
            init above.

    Shapes:
        - pooled_feats: M tensors (B, D_i)
        - expert_logits: (M, B, C), C >= k
        - output of forward: gate logits (M - 1, B)
    """

    def __init__(self,
                 in_channels: Union[int, Sequence[int]],
                 num_experts: int,
                 top_k: int = 30,
                 hidden_channels: int = 16,
                 shared_fc: bool = True,
                 pos_weight: float = 100.0,
                 threshold: float = 0.5,
                 init_cfg=dict(
                     type='Kaiming',
                     layer='Linear',
                     mode='fan_in',
                     distribution='normal',
                     bias=0.)):
        super().__init__(init_cfg=init_cfg)
        if num_experts < 2:
            raise ValueError(f'a router needs num_experts >= 2, got '
                             f'{num_experts}')
        if top_k < 1:
            raise ValueError(f'top_k must be >= 1, got {top_k}')
        if isinstance(in_channels, int):
            in_channels = [in_channels] * num_experts
        in_channels = list(in_channels)
        if len(in_channels) not in (num_experts - 1, num_experts):
            raise ValueError(f'in_channels needs {num_experts} values (one '
                             f'per expert), got {in_channels}')
        self.in_channels = in_channels
        self.num_experts = num_experts
        self.top_k = top_k
        self.hidden_channels = hidden_channels
        self.shared_fc = shared_fc
        self.pos_weight = pos_weight
        self.threshold = threshold
        self.hidden_fcs = nn.ModuleList([
            nn.Linear(in_channels[i], hidden_channels)
            for i in range(num_experts - 1)
        ])
        if shared_fc:
            self.fc = nn.Linear(top_k + hidden_channels, 1)
        else:
            self.fcs = nn.ModuleList([
                nn.Linear(top_k + hidden_channels, 1)
                for _ in range(num_experts - 1)
            ])

    def forward(self, pooled_feats: Sequence[torch.Tensor],
                expert_logits: ExpertLogits) -> torch.Tensor:
        """Gate logits of the M - 1 routers.

        Args:
            pooled_feats (Sequence[Tensor]): M (or M - 1) pooled expert
                features, (B, D_i); L2-normalised here.
            expert_logits (Tensor | Sequence[Tensor]): (M, B, C).

        Returns:
            Tensor: Shape (M - 1, B); sigmoid > threshold means "run the
            next expert".
        """
        z = stack_expert_logits(expert_logits)
        if z.size(0) != self.num_experts:
            raise ValueError(f'ExpertRouter was built for {self.num_experts} '
                             f'experts, got logits of {z.size(0)}')
        if z.size(-1) < self.top_k:
            raise ValueError(f'top_k={self.top_k} exceeds the number of '
                             f'classes {z.size(-1)}')
        if len(pooled_feats) < self.num_experts - 1:
            raise ValueError(f'need {self.num_experts - 1} pooled features, '
                             f'got {len(pooled_feats)}')
        ensemble = running_ensemble_logits(z)
        gates = []
        for i in range(self.num_experts - 1):
            feat = F.normalize(pooled_feats[i].flatten(1), dim=1)
            hidden = F.relu(self.hidden_fcs[i](feat.to(
                self.hidden_fcs[i].weight.dtype)))
            topk = ensemble[i].topk(self.top_k, dim=1).values
            x = torch.cat([topk.to(hidden.dtype), hidden], dim=1)
            fc = self.fc if self.shared_fc else self.fcs[i]
            gates.append(fc(x).squeeze(1))
        return torch.stack(gates, dim=0)

    def loss(self, pooled_feats: Sequence[torch.Tensor],
             expert_logits: ExpertLogits,
             target: torch.Tensor) -> torch.Tensor:
        """Router BCE loss (:func:`router_loss` on :func:`router_targets`).

        The experts are inputs only: their logits are detached.

        Returns:
            Tensor: Scalar.
        """
        z = stack_expert_logits(expert_logits).detach()
        feats = [f.detach() for f in pooled_feats]
        gates = self(feats, z)
        return router_loss(gates, router_targets(z, target), self.pos_weight)

    def predict(
            self, pooled_feats: Sequence[torch.Tensor],
            expert_logits: ExpertLogits) -> Tuple[torch.Tensor, torch.Tensor]:
        """Routed mean logits (B, C) and experts used per sample (B, )."""
        z = stack_expert_logits(expert_logits)
        return routed_predict(self(pooled_feats, z), z, self.threshold)

    def extra_repr(self) -> str:
        return (f'num_experts={self.num_experts}, top_k={self.top_k}, '
                f'shared_fc={self.shared_fc}, pos_weight={self.pos_weight}')
