# Copyright (c) shike-mm contributors. All rights reserved.
from .cosine_cls_head import CosineClsHead
from .expert_head_mode import ExpertHeadMode
from .mean_fusion import MeanFusion
from .multi_expert_fusion_head import MultiExpertFusionHead
from .post_hoc_adjusted_head import PostHocAdjustedHead
from .router_mode import RouterMode
from .stage_modes import ExpertsMode, RetrainMode

__all__ = [
    'CosineClsHead', 'ExpertHeadMode', 'ExpertsMode', 'MeanFusion',
    'MultiExpertFusionHead', 'PostHocAdjustedHead', 'RetrainMode',
    'RouterMode'
]
