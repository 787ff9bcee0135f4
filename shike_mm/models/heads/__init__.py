# Copyright (c) shike-mm contributors. All rights reserved.
from .cosine_cls_head import CosineClsHead
from .multi_expert_fusion_head import MultiExpertFusionHead
from .post_hoc_adjusted_head import PostHocAdjustedHead

__all__ = ['CosineClsHead', 'MultiExpertFusionHead', 'PostHocAdjustedHead']
