# Copyright (c) shike-mm contributors. All rights reserved.
"""From the (M, B, C) logits of a multi-expert head to its loss dict and
its predicted data samples."""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.structures import DataSample

from ...protocols import MultiExpertLoss
from ..losses.loss_names import loss_key


def expert_losses(loss_modules: Sequence[nn.Module],
                  expert_logits: torch.Tensor, target: torch.Tensor,
                  owner: str, **kwargs) -> Dict[str, torch.Tensor]:
    """Apply every loss module to the experts' logits.

    A :class:`~shike_mm.protocols.MultiExpertLoss` is called once with all
    experts' logits; any other loss (mmpretrain's CE, focal, balanced
    softmax ...) is applied to each expert's logits with
    ``avg_factor=B`` and summed over the experts.

    Args:
        loss_modules (Sequence[nn.Module]): The losses, in logging order.
        expert_logits (Tensor): Shape (M, B, C), float32 or float64.
        target (Tensor): Class indices, shape (B, ).
        owner (str): Named in the error.
        **kwargs: Passed to the per-expert losses.

    Returns:
        dict[str, Tensor]: One scalar per loss, keyed by :func:`loss_key`.

    Raises:
        ValueError: If two losses have the same key.
    """
    losses = dict()
    for module in loss_modules:
        key = loss_key(module)
        if key in losses:
            raise ValueError(f'{owner}: two active losses log as {key!r}; '
                             'give one of them a distinct loss_name')
        if isinstance(module, MultiExpertLoss):
            losses[key] = module(expert_logits, target)
        else:
            losses[key] = sum(
                module(z, target, avg_factor=z.size(0), **kwargs)
                for z in expert_logits)
    return losses


def expert_predictions(
    expert_logits: torch.Tensor,
    data_samples: Optional[List[Optional[DataSample]]],
    routed: Optional[Tuple[torch.Tensor, torch.Tensor]] = None,
    keep_expert_logits: bool = False,
    fusion: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
) -> List[DataSample]:
    """Fill data samples from the expert logits.

    Args:
        expert_logits (Tensor): Shape (M, B, C).
        data_samples (list[DataSample | None], optional): Samples to fill;
            new ones are created if None.
        routed (tuple[Tensor], optional): Routed inference: the mean logits
            of the experts each sample used (B, C) and their number (B, ),
            from ``ExpertRouter.predict``.
        keep_expert_logits (bool): Also store every expert's logits.
        fusion (Callable, optional): The head's
            :class:`~shike_mm.protocols.FusionRule`, applied to the
            detached float32 expert logits when not routed; None: the mean.

    Returns:
        list[DataSample]: Each with ``pred_score`` (C, ) = softmax of the
        fused logits (routed: the mean of the experts used) and
        ``pred_label`` (1, ); with
        routing also ``num_experts`` (int); with ``keep_expert_logits`` also
        ``expert_logits`` (M, C), the raw logits of every expert (float32,
        detached).
    """
    expert_logits = expert_logits.detach().float()
    num_experts_used = None
    if routed is None:
        mean_logits = expert_logits.mean(dim=0) if fusion is None else \
            fusion(expert_logits)
    else:
        mean_logits, num_experts_used = routed
        mean_logits = mean_logits.detach().float()
    pred_scores = F.softmax(mean_logits, dim=1)
    pred_labels = pred_scores.argmax(dim=1, keepdim=True)

    if data_samples is None:
        data_samples = [None] * pred_scores.size(0)
    out = []
    for i, (data_sample, score, label) in enumerate(
            zip(data_samples, pred_scores, pred_labels)):
        if data_sample is None:
            data_sample = DataSample()
        data_sample.set_pred_score(score).set_pred_label(label)
        if num_experts_used is not None:
            data_sample.set_field(
                int(num_experts_used[i]), 'num_experts',
                field_type='metainfo')
        if keep_expert_logits:
            data_sample.set_field(
                expert_logits[:, i], 'expert_logits', dtype=torch.Tensor)
        out.append(data_sample)
    return out
