# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from shike_mm.protocols import ClassCountsConsumer, MultiExpertLoss


def inverse_prior(prior: torch.Tensor) -> torch.Tensor:
    """The class prior with its order reversed.

    Class ``c`` of rank ``r`` among the priors sorted in ascending order
    gets the prior of rank ``C - 1 - r``: the most frequent class gets the
    rarest class's prior and vice versa (SADE's ``inverse_prior``).

    Ties. Two classes with the same prior can get different inverse priors,
    depending on how the sort ranks them. The ranks are those of
    ``torch.sort`` (not stable) of the prior in float32, as in the public
    code (which sorts its float32 prior), so that both agree on the same
    machine; on CPU ``torch.sort`` ranks tied classes by decreasing index.

    Args:
        prior (Tensor): Class prior, shape (C, ).

    Returns:
        Tensor: Shape (C, ), the same values in reversed rank order.
    """
    _, order = torch.sort(prior.float())
    values = prior[order]
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=order.device)
    return values[prior.numel() - 1 - rank]


def diverse_expert_adjustments(class_counts: Sequence[int],
                               tau: float = 2.0,
                               eps: float = 1e-9) -> torch.Tensor:
    """What each of SADE's three experts adds to its logits.

    With the training prior ``pi = n / sum(n)``: expert 1 adds nothing
    (softmax cross-entropy, fits the training distribution), expert 2 adds
    ``log(pi + eps)`` (balanced softmax, fits the uniform distribution),
    expert 3 adds ``log(pi + eps) - tau * log(inverse_prior(pi) + eps)``
    (inverse softmax, fits the reversed long tail).

    Args:
        class_counts (Sequence[int] | Tensor): Training images per class,
            shape (C, ).
        tau (float): Strength of the inverse prior. Defaults to 2.0.
        eps (float): Added to the priors before the log. Defaults to 1e-9.

    Returns:
        Tensor: Shape (3, C), float64.
    """
    counts = torch.as_tensor(class_counts, dtype=torch.float64).flatten()
    if counts.numel() == 0 or (counts < 0).any() or counts.sum() <= 0:
        raise ValueError('DiverseExpertLoss: class counts must be '
                         'non-negative with a positive sum, got '
                         f'{counts.tolist()}')
    prior = counts / counts.sum()
    log_prior = torch.log(prior + eps)
    inverse = log_prior - tau * torch.log(inverse_prior(prior) + eps)
    return torch.stack([torch.zeros_like(log_prior), log_prior, inverse])


@MODELS.register_module()
class DiverseExpertLoss(ClassCountsConsumer, MultiExpertLoss, nn.Module):
    """SADE's diverse expert loss (Zhang et al., NeurIPS 2022, Eq. 3-5).

    Three experts learn three label distributions from the same long-tailed
    training set: the sum of a softmax cross-entropy on expert 1's logits,
    a balanced softmax cross-entropy on expert 2's and an inverse softmax
    cross-entropy on expert 3's, each the mean over the batch (public code:
    github.com/Vanint/SADE-AgnosticLT, ``DiverseExpertLoss`` in
    ``model/loss.py``). The adjustments are those of
    :func:`diverse_expert_adjustments`.

    Implements :class:`~shike_mm.protocols.MultiExpertLoss` (the head
    calls it once with the (M, B, C) logits) and
    :class:`~shike_mm.protocols.ClassCountsConsumer` (``ClassCountsHook``
    hands it the training counts). The adjustments are a non-persistent
    buffer: the counts travel with the checkpoint's own record of them, not
    in the state dict.

    Args:
        tau (float): Strength of the inverse prior of expert 3. Defaults to
            2.0 (the paper's and the public configs').
        class_counts (Sequence[int], optional): Training images per class;
            the same as calling :meth:`set_class_counts`. Defaults to None.
        eps (float): Added to the priors before the log. Defaults to 1e-9.
        loss_weight (float): Factor of the sum. Defaults to 1.0.
    """

    loss_name = 'loss_diverse'
    num_experts = 3

    def __init__(self,
                 tau: float = 2.0,
                 class_counts: Optional[Sequence[int]] = None,
                 eps: float = 1e-9,
                 loss_weight: float = 1.0):
        super().__init__()
        self.tau = float(tau)
        self.eps = float(eps)
        self.loss_weight = loss_weight
        self.register_buffer('adjustments', None, persistent=False)
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Derive the three experts' logit adjustments from the counts.

        Args:
            counts (Sequence[int] | Tensor): Training images per class,
                shape (C, ).
        """
        adjustments = diverse_expert_adjustments(counts, self.tau, self.eps)
        if self.adjustments is not None:
            adjustments = adjustments.to(self.adjustments.device)
        self.adjustments = adjustments

    def forward(self, expert_logits: torch.Tensor,
                target: torch.Tensor) -> torch.Tensor:
        """Sum of the three experts' cross-entropies.

        Args:
            expert_logits (Tensor | Sequence[Tensor]): Shape (3, B, C), or
                three (B, C) tensors. Half types are computed in float32.
            target (Tensor): Class indices, shape (B, ).

        Returns:
            Tensor: A scalar.
        """
        if not isinstance(expert_logits, torch.Tensor):
            expert_logits = torch.stack(list(expert_logits))
        if expert_logits.dtype not in (torch.float32, torch.float64):
            expert_logits = expert_logits.float()
        name = type(self).__name__
        if expert_logits.dim() != 3 or \
                expert_logits.size(0) != self.num_experts:
            raise ValueError(
                f'{name} needs the logits of exactly {self.num_experts} '
                'experts, shape (3, B, C), got shape '
                f'{tuple(expert_logits.shape)} (set num_experts=3 in the '
                'backbone and the head)')
        if self.adjustments is None:
            raise RuntimeError(
                f'{name} has no class counts. Add '
                "dict(type='ClassCountsHook') to the hooks, or pass "
                'class_counts=[...] / call set_class_counts(counts).')
        num_classes = expert_logits.size(-1)
        if self.adjustments.size(-1) != num_classes:
            raise ValueError(
                f'{name} has counts for {self.adjustments.size(-1)} classes '
                f'but the logits have {num_classes}')
        adjusted = expert_logits + self.adjustments.to(
            expert_logits)[:, None, :]
        target = target.reshape(-1).long()
        loss = sum(F.cross_entropy(z, target) for z in adjusted)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'tau={self.tau}, loss_weight={self.loss_weight}'
