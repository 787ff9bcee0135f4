# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Dict, List, Sequence

import torch
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from .expert_head_mode import ExpertHeadMode


@MODELS.register_module()
class RouterMode(ExpertHeadMode):
    """``'router'``: RIDE's expert assignment (Wang et al., ICLR 2021).

    Only ``head.router`` learns, from the (detached, with
    ``detach_feats``) pooled features and the logits of the classifier set
    in use, with its BCE loss ``loss_router``. Predictions are routed: a
    sample stops at the first expert whose router says no, the prediction
    is the mean of the experts it used, and each ``DataSample`` records
    ``num_experts``. An add-on mode (``classifiers=None``): it keeps the
    classifier set in use before it. Recorded in the buffer
    ``routing_flag``; available only if the head has a router.
    """

    name = 'router'
    flag = 'routing_flag'
    classifiers = None

    def available(self, head) -> bool:
        return getattr(head, 'router', None) is not None

    def loss(self, head, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        feats = self.features(head, feats)
        expert_logits = head.expert_logits(feats)
        target = head.get_targets(data_samples).to(expert_logits.device)
        return dict(
            loss_router=head.router.loss(feats, expert_logits, target))

    def predict(self, head, feats: Sequence[torch.Tensor],
                data_samples) -> List[DataSample]:
        expert_logits = head.expert_logits(feats)
        routed = head.router.predict(head.pre_logits(feats), expert_logits)
        return head.predictions_from_logits(expert_logits, data_samples,
                                            routed)

    def predicted_logits(self, head,
                         feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The routed mean logits, (B, C) float32."""
        expert_logits = head.expert_logits(feats)
        return head.router.predict(head.pre_logits(feats),
                                   expert_logits)[0].float()
