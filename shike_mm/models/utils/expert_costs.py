# Copyright (c) shike-mm contributors. All rights reserved.
import re
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn as nn

_EXPERT_PARTS = re.compile(
    r'(?:^|\.)(?:experts|fusion_layers|classifiers|retrain_classifiers)'
    r'\.(\d+)(?:\.|$)')


def _macs(module: nn.Module, inputs, output) -> int:
    if isinstance(module, nn.Conv2d):
        kernel = module.kernel_size[0] * module.kernel_size[1]
        return output.numel() * kernel * module.in_channels // module.groups
    if isinstance(module, nn.Linear):
        return output.numel() * module.in_features
    return 0


@torch.no_grad()
def multi_expert_costs(
        model: nn.Module,
        input_shape: Sequence[int] = (3, 32, 32)) -> Tuple[float, List[float]]:
    """Multiply-adds of the shared part and of each expert of a
    multi-expert classifier, for one image.

    Convolutions and linear layers are counted during one forward pass
    (``extract_feat`` and the head's ``forward_experts``), each attributed
    by its name: ``experts.{m}``, ``fusion_layers.{m}``, ``classifiers.{m}``
    and ``retrain_classifiers.{m}`` belong to expert m (only the classifier
    set in use runs), the router is left out, everything else is shared.
    Batch norm, activations and pooling are not counted (a few per cent).

    Args:
        model (nn.Module): An ``ImageClassifier`` with a multi-expert
            backbone and ``MultiExpertFusionHead``.
        input_shape (Sequence[int]): (C, H, W) of one input image.

    Returns:
        tuple[float, list[float]]: Shared MACs and the MACs of each expert.
    """
    names: Dict[nn.Module, str] = {m: n for n, m in model.named_modules()}
    shared = 0
    experts: Dict[int, int] = {}
    handles = []

    def count(module, inputs, output):
        nonlocal shared
        name = names[module]
        if name.startswith('head.router') or '.router.' in name:
            return
        macs = _macs(module, inputs, output)
        match = _EXPERT_PARTS.search(name)
        if match:
            m = int(match.group(1))
            experts[m] = experts.get(m, 0) + macs
        else:
            shared += macs

    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            handles.append(module.register_forward_hook(count))
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters())
        x = torch.zeros(1, *input_shape, device=param.device)
        feats = model.extract_feat(x)
        model.head.forward_experts(feats)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    num = getattr(model.head, 'num_experts', len(experts))
    return float(shared), [float(experts.get(m, 0)) for m in range(num)]
