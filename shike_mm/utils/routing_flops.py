# Copyright (c) shike-mm contributors. All rights reserved.
"""The relative cost of routed multi-expert inference, from the costs of
the model's parts (plain arithmetic; the metric that reports it and the
router that produces the expert counts both use it)."""
from typing import Optional, Sequence, Union

import torch


def routing_relative_flops(
        num_experts_used: Union[torch.Tensor, Sequence[int]],
        shared_flops: float,
        expert_flops: Union[float, Sequence[float]],
        router_flops: float = 0.0,
        num_experts: Optional[int] = None) -> float:
    """Average cost of routed inference relative to running all experts.

    A sample that uses n experts costs ``shared + sum_{i<n} expert_i +
    min(n, M - 1) * router`` (routers 0..n-1 run, the last of them said
    stop; no router after the last expert); the reference point is
    ``shared + sum_i expert_i`` (all experts, no router), so values below
    1 are savings. The reference reports absolute GFLOPs the same way: the
    fraction of samples using k experts times the cost of the k-expert
    model.

    Args:
        num_experts_used (Tensor | Sequence[int]): Per sample, in [1, M].
        shared_flops (float): Cost of the shared part (stem and shared
            stages).
        expert_flops (float | Sequence[float]): Cost of one expert's own
            part including its classifier; a sequence gives one value per
            expert (length M).
        router_flops (float): Cost of one router evaluation. Defaults to 0.
        num_experts (int, optional): M; required if ``expert_flops`` is a
            single number.

    Returns:
        float: Mean routed cost / cost with all experts.
    """
    if isinstance(expert_flops, (int, float)):
        if num_experts is None:
            raise ValueError('num_experts is required when expert_flops is '
                             'a single number')
        expert_flops = [float(expert_flops)] * num_experts
    expert_flops = [float(f) for f in expert_flops]
    num_experts = len(expert_flops)
    used = torch.as_tensor(num_experts_used, dtype=torch.long).flatten()
    if used.numel() == 0:
        raise ValueError('num_experts_used is empty')
    if used.min() < 1 or used.max() > num_experts:
        raise ValueError(f'num_experts_used must lie in [1, {num_experts}], '
                         f'got [{used.min().item()}, {used.max().item()}]')
    cumulative = [0.0]
    for f in expert_flops:
        cumulative.append(cumulative[-1] + f)
    cost = torch.tensor(cumulative, dtype=torch.float64)[used] + shared_flops
    cost = cost + used.clamp(max=num_experts - 1).double() * router_flops
    full = shared_flops + cumulative[-1]
    return float(cost.mean() / full)
