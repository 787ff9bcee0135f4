# Copyright (c) shike-mm contributors. All rights reserved.
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Tuple

import torch
import torch.nn as nn
from mmengine.registry import OPTIMIZERS

from .test_time_objective import prediction_stability_loss

#: The public code's test-time optimiser for CIFAR-100-LT
#: (``configs/test_time_cifar100_ir100_sade.json``).
DEFAULT_OPTIMIZER = dict(
    type='SGD', lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)


@dataclass
class AggregationResult:
    """What :func:`learn_aggregation` learned.

    Attributes:
        weights (list[float]): The normalised expert weights at the end.
        epochs (int): Epochs run (fewer than asked after an early stop).
        losses (list[float]): Mean objective of every epoch.
    """
    weights: List[float]
    epochs: int
    losses: List[float] = field(default_factory=list)


def should_stop(weights: torch.Tensor, threshold: float = 0.05) -> bool:
    """Whether an expert's weight, rounded to 2 decimals, fell below
    ``threshold`` (the public code's stopping rule, checked after every
    epoch).

    Args:
        weights (Tensor): Normalised expert weights, shape (M, ).
        threshold (float): Defaults to 0.05.
    """
    rounded = torch.round(weights.detach().double() * 100) / 100
    return bool((rounded < threshold).any())


def learn_aggregation(
        fusion: nn.Module,
        view_batches: Callable[[], Iterable[Tuple[torch.Tensor,
                                                  torch.Tensor]]],
        optimizer: dict = DEFAULT_OPTIMIZER,
        epochs: int = 5,
        stop_below: float = 0.05) -> AggregationResult:
    """Learn a fusion rule's weights on unlabelled data, SADE's way.

    Every step fuses the experts' logits of two augmented views of a batch
    and minimises :func:`prediction_stability_loss`; only the fusion's
    parameters are optimised (the experts' logits are constants). After an
    epoch, training stops early if :func:`should_stop`.

    Args:
        fusion (nn.Module): The fusion rule, ``(M, B, C) -> (B, C)``, with
            ``expert_weights()`` (e.g. ``SADEFusion``).
        view_batches (callable): Returns, for one epoch, an iterable of
            pairs of expert logits of the two views, each (M, B, C).
        optimizer (dict): Optimiser config (mmengine's ``OPTIMIZERS``)
            without ``params``. Defaults to :data:`DEFAULT_OPTIMIZER`.
        epochs (int): Maximum number of epochs. Defaults to 5.
        stop_below (float): Threshold of :func:`should_stop`. Defaults to
            0.05.

    Returns:
        AggregationResult: The learned weights, epochs run and losses.
    """
    if epochs < 0:
        raise ValueError(f'learn_aggregation: epochs={epochs} must be >= 0')
    params = [p for p in fusion.parameters() if p.requires_grad]
    optim = OPTIMIZERS.build(dict(optimizer, params=params))
    losses = []
    done = 0
    for _ in range(epochs):
        total, count = 0.0, 0
        for view1, view2 in view_batches():
            loss = prediction_stability_loss(fusion(view1), fusion(view2))
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += loss.item() * view1.size(1)
            count += view1.size(1)
        losses.append(total / max(count, 1))
        done += 1
        if should_stop(fusion.expert_weights(), stop_below):
            break
    weights = fusion.expert_weights().detach().cpu().tolist()
    return AggregationResult(weights=weights, epochs=done, losses=losses)
