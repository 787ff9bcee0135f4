# Copyright (c) shike-mm contributors. All rights reserved.
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS


@MODELS.register_module()
class CosineClassifier(nn.Module):
    """Cosine (normalised linear) classifier.

    ``logits = scale * normalize(x) @ normalize(W)^T``, no bias. ``W`` is
    initialised uniform(-1, 1) and then renormalised per class (the
    ``NormedLinear`` of the LDAM / RIDE / SHIKE reference code).

    Args:
        in_features (int): Feature dimension D.
        out_features (int): Number of classes C.
        scale (float): Logit scale s. Defaults to 30.0.
        eps (float): Epsilon of the L2 normalisation. Defaults to 1e-12.

    Shapes:
        - input: (B, D)
        - weight: (C, D)
        - output: (B, C)
    """

    def __init__(self,
                 in_features: int,
                 out_features: int,
                 scale: float = 30.0,
                 eps: float = 1e-12):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.scale = scale
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Uniform(-1, 1), then every class row renormalised to norm 1."""
        with torch.no_grad():
            self.weight.uniform_(-1, 1)
            self.weight.copy_(F.normalize(self.weight, dim=1))

    def init_weights(self) -> None:
        """Called by mmengine's ``init_weights``; see ``reset_parameters``."""
        self.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forward.

        Args:
            x (Tensor): Features, shape (B, D).

        Returns:
            Tensor: Logits, shape (B, C), in [-scale, scale].
        """
        return self.scale * F.linear(
            F.normalize(x, dim=1, eps=self.eps),
            F.normalize(self.weight, dim=1, eps=self.eps))

    def extra_repr(self) -> str:
        return (f'in_features={self.in_features}, '
                f'out_features={self.out_features}, scale={self.scale}')
