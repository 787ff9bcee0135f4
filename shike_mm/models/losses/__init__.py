# Copyright (c) shike-mm contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss, balanced_softmax_loss
from .dkt_loss import DKTLoss, dkt_loss, dkt_teacher_logits
from .logit_adjust_loss import LogitAdjustLoss, logit_adjust_loss
from .mutual_kl_loss import MutualKLLoss, mutual_kl_loss

__all__ = [
    'BalancedSoftmaxLoss', 'balanced_softmax_loss', 'DKTLoss', 'dkt_loss',
    'dkt_teacher_logits', 'LogitAdjustLoss', 'logit_adjust_loss',
    'MutualKLLoss', 'mutual_kl_loss'
]
