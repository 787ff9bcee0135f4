# Copyright (c) shike-mm contributors. All rights reserved.
import torch
import torch.nn as nn
from mmpretrain.registry import MODELS

from ...protocols import FusionRule


@MODELS.register_module()
class MeanFusion(FusionRule, nn.Module):
    """The mean of the experts' logits: the prediction of SHIKE (Jin et
    al., CVPR 2023) and of RIDE (Wang et al., ICLR 2021) with all
    experts.

    The default :class:`~shike_mm.protocols.FusionRule` of
    ``MultiExpertFusionHead``; it has no parameters.

    Shapes:
        - input: (M, B, C)
        - output: (B, C), in the input's dtype
    """

    def forward(self, expert_logits: torch.Tensor) -> torch.Tensor:
        """Average over the expert dimension.

        Args:
            expert_logits (Tensor): Shape (M, B, C).

        Returns:
            Tensor: Shape (B, C).
        """
        return expert_logits.mean(dim=0)
