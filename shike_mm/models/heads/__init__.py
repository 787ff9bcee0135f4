# Copyright (c) shike-mm contributors. All rights reserved.
from .multi_expert_fusion_head import MultiExpertFusionHead

__all__ = ['MultiExpertFusionHead']
