# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Optional, Sequence

import torch
import torch.nn as nn
from mmpretrain.registry import MODELS


class ExpertClassifiers(nn.ModuleList):
    """One classifier per expert, applied to the experts' own features.

    A multi-expert head holds one set for representation learning
    (``classifiers``) and, for a decoupled classifier-retraining stage,
    another (``retrain_classifiers``). Being a ``ModuleList``, the set's
    state-dict keys are ``<name>.<expert index>.<parameter>``, as those of
    a plain list of classifiers.

    Args:
        classifier (dict): Classifier config, built with ``in_features``
            and ``out_features``: e.g. ``dict(type='CosineClassifier',
            scale=30.0)``, or ``dict(type='Linear', bias=True)`` for a plain
            ``nn.Linear`` (initialised by the owning head's ``init_cfg``).
        in_channels (int): Feature dimension D of every expert.
        num_classes (int): Number of classes C.
        num_experts (int): Number of experts M.

    Shapes:
        - input: M tensors of shape (B, D)
        - output: (M, B, C)
    """

    def __init__(self, classifier: dict, in_channels: int, num_classes: int,
                 num_experts: int):
        super().__init__([
            self.build_classifier(classifier, in_channels, num_classes)
            for _ in range(num_experts)
        ])

    @staticmethod
    def build_classifier(cfg: dict, in_channels: int,
                         num_classes: int) -> nn.Module:
        """Build one classifier from ``cfg``.

        Args:
            cfg (dict): See the class docstring.
            in_channels (int): D.
            num_classes (int): C.

        Returns:
            nn.Module: Maps (B, D) features to (B, C) logits.
        """
        cfg = copy.deepcopy(cfg)
        if cfg.get('type') in ('Linear', nn.Linear):
            cfg.pop('type')
            return nn.Linear(in_channels, num_classes, **cfg)
        cfg.update(in_features=in_channels, out_features=num_classes)
        return MODELS.build(cfg)

    @property
    def logit_scale(self) -> Optional[float]:
        """float, optional: The bound of the logits (a cosine classifier's
        ``scale``), None for unbounded classifiers."""
        return getattr(self[0], 'scale', None)

    def forward(self, feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """Logits of every expert from its own features.

        Args:
            feats (Sequence[Tensor]): M tensors of shape (B, D).

        Returns:
            Tensor: Shape (M, B, C), in the dtype the classifiers produce
            (e.g. float16 / bfloat16 under autocast).
        """
        return torch.stack(
            [classifier(feat) for classifier, feat in zip(self, feats)],
            dim=0)
