# Copyright (c) shike-mm contributors. All rights reserved.
"""SADE (Zhang et al., NeurIPS 2022) as a shike-mm project: its expert
loss and fusion rule, registered in mmpretrain's ``MODELS``, and the
test-time aggregation learning. Load with ``custom_imports =
dict(imports=['projects.sade.sade'], allow_failed_imports=False)``."""
from .diverse_expert_loss import (DiverseExpertLoss,
                                  diverse_expert_adjustments, inverse_prior)
from .sade_fusion import SADEFusion
from .test_time_aggregation import (AggregationResult, learn_aggregation,
                                    should_stop)
from .test_time_objective import prediction_stability_loss
from .two_view_dataset import TwoViewDataset, collate_views

__all__ = [
    'AggregationResult', 'DiverseExpertLoss', 'SADEFusion',
    'TwoViewDataset', 'collate_views', 'diverse_expert_adjustments',
    'inverse_prior', 'learn_aggregation', 'prediction_stability_loss',
    'should_stop'
]
