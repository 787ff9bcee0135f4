# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional, Sequence

import torch
from mmpretrain.registry import MODELS

from .balanced_softmax_loss import BalancedSoftmaxLoss, balanced_softmax_loss


def logit_adjust_loss(cls_score: torch.Tensor,
                      label: torch.Tensor,
                      log_prior: torch.Tensor,
                      tau: float = 1.0,
                      weight: Optional[torch.Tensor] = None,
                      reduction: str = 'mean',
                      avg_factor: Optional[float] = None) -> torch.Tensor:
    """Logit-adjusted softmax cross-entropy (Menon et al., ICLR 2021).

    ``CE(z + tau * log pi, y) = -log(e^{z_y + tau log pi_y} /
    sum_j e^{z_j + tau log pi_j})`` with the class prior ``pi``. A constant
    added to ``log pi`` cancels, so ``log n_c`` works as well as
    ``log(n_c / N)``. ``tau = 1`` is balanced softmax
    (:func:`balanced_softmax_loss`, Ren et al., NeurIPS 2020), which
    computes it.

    Args:
        cls_score (Tensor): Logits, shape (B, C). Half types are cast to
            float32.
        label (Tensor): Class indices, shape (B, ).
        log_prior (Tensor): ``log pi_c`` up to a constant, shape (C, ).
        tau (float): Temperature of the adjustment. Defaults to 1.0.
        weight (Tensor, optional): Sample-wise weight, shape (B, ).
        reduction (str): 'none', 'mean' or 'sum'.
        avg_factor (float, optional): Divisor used by the 'mean' reduction.

    Returns:
        Tensor: The reduced loss (shape (B, ) for 'none').
    """
    return balanced_softmax_loss(
        cls_score,
        label,
        tau * log_prior,
        weight=weight,
        reduction=reduction,
        avg_factor=avg_factor)


@MODELS.register_module()
class LogitAdjustLoss(BalancedSoftmaxLoss):
    """Logit-adjusted loss, ``CE(z + tau * log pi, y)`` (Menon et al. 2021).

    Balanced softmax generalised by a temperature: with ``tau=1`` the two
    losses are equal, so this class is :class:`BalancedSoftmaxLoss` with the
    added logits scaled by ``tau``. The state is the same: the persistent
    buffer ``log_prior`` holds ``log max(n_c, 1)`` (float64), set only by
    :meth:`set_class_counts`, which ``ClassCountsHook`` calls with the
    training counts (``class_counts`` in the constructor for use outside a
    runner). The prior's normaliser ``log N`` is a constant per row and
    cancels in the softmax.

    Works as ``LinearClsHead(loss=dict(type='LogitAdjustLoss', tau=1.0))``.
    Predict with the raw logits ``z``: the adjustment is only applied in
    training (for the test-time variant on a CE-trained model see
    ``PostHocAdjustedHead``).

    Args:
        tau (float): Temperature; 0 gives plain CE. Defaults to 1.0 (the
            paper's choice, consistent for the balanced error).
        class_counts (Sequence[int], optional): Training images per class,
            length C. Defaults to None (set by ``ClassCountsHook``).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.
        loss_weight (float): Weight of the loss. Defaults to 1.0.
    """

    loss_name = 'loss_la'

    def __init__(self,
                 tau: float = 1.0,
                 class_counts: Optional[Sequence[int]] = None,
                 reduction: str = 'mean',
                 loss_weight: float = 1.0):
        super().__init__(
            class_counts=class_counts,
            reduction=reduction,
            loss_weight=loss_weight)
        self.tau = float(tau)

    def logit_adjustment(self) -> torch.Tensor:
        """Tensor: ``tau * log n``, shape (C, ), added to the logits."""
        return self.tau * self.log_prior

    def extra_repr(self) -> str:
        return f'tau={self.tau}, ' + super().extra_repr()
