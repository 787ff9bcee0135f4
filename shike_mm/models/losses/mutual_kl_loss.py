# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS

from ...protocols import MultiExpertLoss
from .utils import check_kl_reduction, reduce_kl, stack_expert_logits


def mutual_kl_loss(expert_logits: torch.Tensor,
                   temperature: float = 1.0,
                   detach_target: bool = False,
                   reduction: str = 'mean') -> torch.Tensor:
    """Mutual distillation between experts (Eq. 4).

    ``sum_{j} sum_{i != j} KL(p_j || p_i)`` over all M(M-1) ordered pairs,
    ``p = softmax(z / T)`` over the C classes, multiplied by ``T ** 2`` (the
    usual Hinton scaling, which keeps the gradient magnitude independent of
    T; with T = 1 it is a no-op).

    Args:
        expert_logits (Tensor): Shape (M, B, C). Half types are cast to
            float32.
        temperature (float): T. Defaults to 1.0.
        detach_target (bool): Stop gradients through ``p_j`` (the first
            argument of each KL). Defaults to False (reference).
        reduction (str): 'mean' divides the summed point-wise KL by B * C,
            'batchmean' by B, 'sum' not at all. Pairs are always summed.

    Returns:
        Tensor: Scalar, float32 (float64 for float64 input); zero for a
        single expert.
    """
    check_kl_reduction(reduction)
    z = stack_expert_logits(expert_logits)
    num_experts, batch_size, num_classes = z.shape
    log_p = F.log_softmax(z / temperature, dim=-1)  # (M, B, C), computed once
    log_t = log_p.detach() if detach_target else log_p
    # All ordered pairs at once: pair_kl[j, i] = KL(p_j || p_i), (M, M).
    pair_kl = (log_t.exp().unsqueeze(1) *
               (log_t.unsqueeze(1) - log_p.unsqueeze(0))).sum(dim=(2, 3))
    # The M(M-1) off-diagonal entries in row-major order, not a sum over
    # the zero diagonal: with detach_target the diagonal's gradient would
    # not vanish. Indices from Python, so the shape is static (no graph
    # break under torch.compile, unlike masked_select).
    pairs = [(j, i) for j in range(num_experts) for i in range(num_experts)
             if i != j]
    loss = pair_kl[[j for j, _ in pairs], [i for _, i in pairs]].sum()
    loss = loss * temperature**2
    return reduce_kl(loss, batch_size, num_classes, reduction)


@MODELS.register_module()
class MutualKLLoss(MultiExpertLoss, nn.Module):
    """Mutual KL distillation among experts (SHIKE Eq. 4).

    Defaults reproduce the reference implementation: every ordered pair,
    softmax at T = 1, no detach, element-wise mean (sum / (B * C)), weight 1.
    'batchmean' with ``loss_weight=1 / C`` gives the same value.

    A :class:`~shike_mm.protocols.MultiExpertLoss`: the head calls it once
    with all experts' (M, B, C) logits.

    Args:
        loss_weight (float): Weight (beta of Eq. 10). Defaults to 1.0.
        reduction (str): 'mean', 'batchmean' or 'sum'. Defaults to 'mean'.
        temperature (float): Softmax temperature T; the loss is multiplied by
            ``T ** 2``. Defaults to 1.0.
        detach_target (bool): Stop gradients through the target distribution
            of every pair. Defaults to False.
    """

    loss_name = 'loss_mutual'

    def __init__(self,
                 loss_weight: float = 1.0,
                 reduction: str = 'mean',
                 temperature: float = 1.0,
                 detach_target: bool = False):
        super().__init__()
        check_kl_reduction(reduction)
        if temperature <= 0:
            raise ValueError('temperature must be positive')
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.temperature = temperature
        self.detach_target = detach_target

    def forward(self,
                expert_logits: Union[torch.Tensor, Sequence[torch.Tensor]],
                target: Optional[torch.Tensor] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            expert_logits (Tensor | Sequence[Tensor]): Shape (M, B, C) or M
                tensors of shape (B, C).
            target (Tensor, optional): Unused; accepted so every head loss
                can be called the same way.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: Scalar, float32 (float64 for float64 input).
        """
        return self.loss_weight * mutual_kl_loss(
            expert_logits,
            temperature=self.temperature,
            detach_target=self.detach_target,
            reduction=reduction_override or self.reduction)

    def extra_repr(self) -> str:
        return (f'loss_weight={self.loss_weight}, reduction={self.reduction}, '
                f'temperature={self.temperature}, '
                f'detach_target={self.detach_target}')
