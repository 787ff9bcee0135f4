# Copyright (c) shike-mm contributors. All rights reserved.
from .balanced_softmax_loss import BalancedSoftmaxLoss, balanced_softmax_loss
from .dkt_loss import DKTLoss, dkt_loss, dkt_teacher_logits
from .ldam_loss import (LDAMLoss, class_balanced_weights, ldam_loss,
                        ldam_margins)
from .logit_adjust_loss import LogitAdjustLoss, logit_adjust_loss
from .loss_names import loss_key
from .mutual_kl_loss import MutualKLLoss, mutual_kl_loss
from .ride_loss import RIDELoss, ride_diversity_temperature

__all__ = [
    'BalancedSoftmaxLoss', 'balanced_softmax_loss', 'DKTLoss', 'dkt_loss',
    'dkt_teacher_logits', 'LDAMLoss', 'class_balanced_weights', 'ldam_loss',
    'ldam_margins', 'LogitAdjustLoss', 'logit_adjust_loss', 'loss_key',
    'MutualKLLoss', 'mutual_kl_loss', 'RIDELoss', 'ride_diversity_temperature'
]
