# Copyright (c) shike-mm contributors. All rights reserved.
import re
from typing import Dict, List, Sequence, Tuple

import torch.nn as nn

from .macs import macs_by_module

#: The module of expert m's part: ``...experts.{m}``,
#: ``...fusion_layers.{m}``, ``...classifiers.{m}``,
#: ``...retrain_classifiers.{m}``.
_EXPERT_PART = re.compile(
    r'(?:^|\.)(?:experts|fusion_layers|classifiers|retrain_classifiers)'
    r'\.(\d+)$')


def _expert_logits(model: nn.Module, x):
    return model.head.expert_logits(model.extract_feat(x))


def multi_expert_costs(
        model: nn.Module,
        input_shape: Sequence[int] = (3, 32, 32)) -> Tuple[float, List[float]]:
    """Multiply-adds of the shared part and of each expert of a
    multi-expert classifier, for one image.

    Counted by :func:`~shike_mm.models.utils.macs.macs_by_module` (the
    project's one MAC counter) over ``extract_feat`` and the head's
    ``expert_logits`` (:class:`~shike_mm.protocols.ExpertLogitsHead`), and
    attributed by module name:
    ``experts.{m}``, ``fusion_layers.{m}``, ``classifiers.{m}`` and
    ``retrain_classifiers.{m}`` belong to expert m (only the classifier
    set in use runs), the router does not run, everything else is shared.

    Args:
        model (nn.Module): An ``ImageClassifier`` with a multi-expert
            backbone and an :class:`~shike_mm.protocols.ExpertLogitsHead`
            (``MultiExpertFusionHead``).
        input_shape (Sequence[int]): (C, H, W) of one input image.

    Returns:
        tuple[float, list[float]]: Shared MACs and the MACs of each expert.
    """
    counts = macs_by_module(model, input_shape, _expert_logits)
    experts: Dict[int, int] = {}
    for name, macs in counts.items():
        match = _EXPERT_PART.search(name)
        if match and 'router' not in name.split('.'):
            m = int(match.group(1))
            experts[m] = experts.get(m, 0) + macs
    shared = counts.get('', 0) - sum(experts.values())
    num = model.head.num_experts
    return float(shared), [float(experts.get(m, 0)) for m in range(num)]
