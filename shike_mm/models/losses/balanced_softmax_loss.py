# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.losses.utils import weight_reduce_loss
from mmpretrain.registry import MODELS

from ...protocols import NamedLoss
from ..utils.class_count_buffer import ClassCountBuffer
from .utils import hard_labels, upcast_logits


def balanced_softmax_loss(cls_score: torch.Tensor,
                          label: torch.Tensor,
                          log_prior: torch.Tensor,
                          weight: Optional[torch.Tensor] = None,
                          reduction: str = 'mean',
                          avg_factor: Optional[float] = None) -> torch.Tensor:
    """Balanced softmax cross-entropy (Ren et al., 2020; SHIKE Eq. 11).

    ``CE(z + log n, y)``: the softmax is taken over the logits shifted by the
    log class prior, which equals ``-log(n_y e^{z_y} / sum_j n_j e^{z_j})``.

    Args:
        cls_score (Tensor): Logits, shape (B, C). Half types are cast to
            float32.
        label (Tensor): Class indices, shape (B, ).
        log_prior (Tensor): ``log n_c`` (any additive constant cancels),
            shape (C, ).
        weight (Tensor, optional): Sample-wise weight, shape (B, ).
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): Divisor used by the 'mean' reduction.

    Returns:
        Tensor: The reduced loss (shape (B, ) for 'none').
    """
    logits = upcast_logits(cls_score)
    logits = logits + log_prior.to(device=logits.device, dtype=logits.dtype)
    loss = F.cross_entropy(logits, label.long(), reduction='none')
    if weight is not None:
        weight = weight.float()
    return weight_reduce_loss(
        loss, weight=weight, reduction=reduction, avg_factor=avg_factor)


@MODELS.register_module()
class BalancedSoftmaxLoss(ClassCountBuffer, NamedLoss, nn.Module):
    """Balanced softmax cross-entropy loss, ``CE(z + log n, y)``.

    The per-class training counts ``n`` are the only state. They are stored
    as the persistent buffer ``log_prior`` (shape (C, ), float64; cast to
    the logits' dtype when used), so they travel with checkpoints. There is
    exactly one way to set them: :meth:`set_class_counts`, which
    ``ClassCountsHook`` calls on every model submodule that defines it, with
    the counts of the training dataset. ``class_counts`` in the constructor
    is the same call, for use outside a runner.

    A count of 0 is clamped to 1 before the log: ``log 0 = -inf`` would make
    the shifted logit of that class ``-inf``, so any sample that does carry
    that label (a resampled or merged training set) would get an infinite
    loss and NaN gradients. Clamping treats an unseen class as the rarest
    possible class instead.

    The call signature follows mmpretrain's losses so the module also works
    as ``LinearClsHead(loss=dict(type='BalancedSoftmaxLoss'))``.

    Args:
        class_counts (Sequence[int], optional): Training images per class,
            length C. Defaults to None (must then be set before the first
            forward).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    loss_name = 'loss_bsce'
    count_buffer_name = 'log_prior'

    def __init__(self,
                 class_counts: Optional[Sequence[int]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__()
        if reduction not in ('none', 'mean', 'sum'):
            raise ValueError(f'BalancedSoftmaxLoss: reduction={reduction!r} '
                             "is not one of 'none', 'mean', 'sum'")
        self.reduction = reduction
        self.loss_weight = loss_weight
        self._register_count_buffer()
        if class_counts is not None:
            self.set_class_counts(class_counts)

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Store ``log(max(n_c, 1))`` as the persistent ``log_prior`` buffer.

        Args:
            counts (Sequence[int] | Tensor): Training images per class,
                shape (C, ).
        """
        self._store_count_buffer(self._class_counts(counts).log_counts)

    def logit_adjustment(self) -> torch.Tensor:
        """Tensor: What is added to the logits, ``log n`` here, (C, )."""
        return self.log_prior

    def forward(self,
                cls_score: torch.Tensor,
                label: torch.Tensor,
                weight: Optional[torch.Tensor] = None,
                avg_factor: Optional[float] = None,
                reduction_override: Optional[str] = None,
                **kwargs) -> torch.Tensor:
        """Compute the loss.

        Args:
            cls_score (Tensor): Logits, shape (B, C).
            label (Tensor): Class indices, shape (B, ) (or (B, 1)).
            weight (Tensor, optional): Sample-wise weight, shape (B, ).
            avg_factor (float, optional): Divisor for the 'mean' reduction.
            reduction_override (str, optional): Overrides ``reduction``.

        Returns:
            Tensor: The loss (float32, or float64 for float64 logits); a
            scalar unless reduction is 'none'.
        """
        assert reduction_override in (None, 'none', 'mean', 'sum')
        reduction = reduction_override or self.reduction
        label = hard_labels(label, type(self).__name__)
        self.require_class_counts(cls_score.size(-1))
        loss = balanced_softmax_loss(
            cls_score,
            label,
            self.logit_adjustment(),
            weight=weight,
            reduction=reduction,
            avg_factor=avg_factor)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        num = None if self.log_prior is None else self.log_prior.numel()
        return (f'num_classes={num}, reduction={self.reduction}, '
                f'loss_weight={self.loss_weight}')
