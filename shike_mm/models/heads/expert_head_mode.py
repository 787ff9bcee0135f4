# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Dict, List, Sequence

import torch
import torch.nn as nn
from mmpretrain.structures import DataSample

from ...protocols import HeadMode


class ExpertHeadMode(HeadMode, nn.Module):
    """Base of the :class:`~shike_mm.protocols.HeadMode` components of
    ``MultiExpertFusionHead``: a mode that trains the classifier set
    :attr:`classifiers` with :meth:`loss_modules` and predicts with the
    head's fusion rule.

    A subclass sets :attr:`name`, :attr:`flag` and :attr:`classifiers`
    (class attributes) and overrides :meth:`loss_modules`, or ``loss`` /
    ``predict`` / ``predicted_logits`` for a mode that does something
    else (``RouterMode``). It reads the head only through its public
    methods: ``pre_logits``, ``expert_logits``, ``fusion``,
    ``losses_from_logits``, ``predictions_from_logits``.

    Args:
        detach_feats (bool): Detach the features before the classifiers,
            so that only the classifiers (and what the mode owns) receive
            gradients even if the backbone is not frozen. Defaults to
            False.
    """

    def __init__(self, detach_feats: bool = False):
        super().__init__()
        self.detach_feats = detach_feats

    def available(self, head) -> bool:
        """True if the head has the classifier set of the mode."""
        return self.classifiers is None or getattr(
            head, self.classifiers, None) is not None

    def loss_modules(self, head) -> List[nn.Module]:
        """The loss modules of the mode, in logging order.

        Args:
            head (ExpertLogitsHead): The head.

        Returns:
            list[nn.Module]: Applied by ``head.losses_from_logits``.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement loss_modules')

    def features(self, head,
                 feats: Sequence[torch.Tensor]) -> Sequence[torch.Tensor]:
        """The M features the mode's classifiers see (detached with
        ``detach_feats``)."""
        if not self.detach_feats:
            return feats
        return tuple(f.detach() for f in head.pre_logits(feats))

    def loss(self, head, feats: Sequence[torch.Tensor],
             data_samples: List[DataSample],
             **kwargs) -> Dict[str, torch.Tensor]:
        """The mode's losses on the experts' logits.

        Args:
            head (ExpertLogitsHead): The head.
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.
            **kwargs: Passed to the per-expert loss modules.

        Returns:
            dict[str, Tensor]: See ``head.losses_from_logits``.
        """
        expert_logits = head.expert_logits(self.features(head, feats))
        return head.losses_from_logits(self.loss_modules(head),
                                       expert_logits, data_samples,
                                       **kwargs)

    def predict(self, head, feats: Sequence[torch.Tensor],
                data_samples) -> List[DataSample]:
        """Predictions from the fused logits of the classifiers in use."""
        return head.predictions_from_logits(
            head.expert_logits(feats), data_samples)

    def predicted_logits(self, head,
                         feats: Sequence[torch.Tensor]) -> torch.Tensor:
        """The fused logits of the classifiers in use, (B, C) float32."""
        return head.fusion(head.expert_logits(feats).float())

    def extra_repr(self) -> str:
        return (f'name={self.name!r}, flag={self.flag!r}, '
                f'classifiers={self.classifiers!r}, '
                f'detach_feats={self.detach_feats}')
