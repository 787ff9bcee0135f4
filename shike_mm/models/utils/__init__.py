# Copyright (c) shike-mm contributors. All rights reserved.
from .cosine_classifier import CosineClassifier
from .expert_costs import multi_expert_costs
from .expert_router import (ExpertRouter, routed_predict, router_loss,
                            router_targets, routing_relative_flops,
                            running_ensemble_logits)
from .sync_batch_norm import SyncBatchNorm2d

__all__ = [
    'CosineClassifier', 'ExpertRouter', 'multi_expert_costs', 'routed_predict',
    'router_loss',
    'router_targets', 'routing_relative_flops', 'running_ensemble_logits',
    'SyncBatchNorm2d'
]
