# Copyright (c) shike-mm contributors. All rights reserved.
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS


@MODELS.register_module()
class SADEFusion(nn.Module):
    """Fusion rule of SADE: experts' logits weighted by learnable weights.

    ``fused = sum_m softmax(w)_m * z_m`` over the M experts, with one
    learnable weight per expert (Zhang et al., NeurIPS 2022, Eq. 6). The
    weights start at ``1 / M`` (as in the public code,
    github.com/Vanint/SADE-AgnosticLT, ``test_training_cifar.py``), so
    that untrained the fusion is the mean of the experts' logits, SADE's
    plain prediction. Test-time aggregation
    (``projects/sade/tools/test_time_aggregate.py``) learns them on the
    unlabelled test set.

    Args:
        num_experts (int): Number of experts M. Defaults to 3.

    Shapes:
        - input: (M, B, C)
        - weight: (M, )
        - output: (B, C)
    """

    def __init__(self, num_experts: int = 3):
        super().__init__()
        if int(num_experts) != num_experts or num_experts < 1:
            raise ValueError(f'SADEFusion: num_experts={num_experts!r} must '
                             'be a positive integer')
        self.num_experts = int(num_experts)
        self.weight = nn.Parameter(
            torch.full((self.num_experts, ), 1.0 / self.num_experts))

    def expert_weights(self) -> torch.Tensor:
        """Tensor: The normalised weights ``softmax(w)``, shape (M, )."""
        return torch.softmax(self.weight, dim=0)

    def forward(self, expert_logits: torch.Tensor) -> torch.Tensor:
        """Fuse the experts' logits.

        Args:
            expert_logits (Tensor): Shape (M, B, C).

        Returns:
            Tensor: Shape (B, C), in the dtype of ``expert_logits``.
        """
        if expert_logits.dim() != 3 or \
                expert_logits.size(0) != self.num_experts:
            raise ValueError(
                f'SADEFusion expects logits of shape ({self.num_experts}, B,'
                f' C), got {tuple(expert_logits.shape)}')
        weights = self.expert_weights().to(expert_logits.dtype)
        return (weights[:, None, None] * expert_logits).sum(dim=0)

    def extra_repr(self) -> str:
        return f'num_experts={self.num_experts}'
