# Copyright (c) shike-mm contributors. All rights reserved.
"""A stand-in for the core head's fusion extension point (``fusion=dict(
type=...)``, ``head.fusion``, ``head.expert_logits``), used by the
end-to-end test only while the core ``MultiExpertFusionHead`` does not take
a fusion rule."""
from mmpretrain.registry import MODELS

from shike_mm.models.heads import MultiExpertFusionHead
from shike_mm.models.heads.expert_outputs import expert_predictions


@MODELS.register_module()
class FusionHeadStub(MultiExpertFusionHead):
    """``MultiExpertFusionHead`` whose prediction is ``fusion(logits)``."""

    def __init__(self, fusion: dict, **kwargs):
        super().__init__(**kwargs)
        self.fusion = MODELS.build(fusion)

    def expert_logits(self, feats):
        return self.forward_experts(feats)

    def forward(self, feats):
        return self.fusion(self.forward_experts(feats))

    def predict(self, feats, data_samples=None):
        fused = self.fusion(self.forward_experts(feats))
        return expert_predictions(fused[None], data_samples)
