# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Sequence

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import HOOKS

from ...protocols import ExpertCostsConsumer


@HOOKS.register_module()
class RoutingCostHook(Hook):
    """Hand the cost of every part of a routed multi-expert model to the
    metrics, so that they report routed inference's relative cost.

    In ``before_run`` it counts the multiply-adds of the shared part and of
    each expert for one image of ``input_shape``
    (:func:`shike_mm.models.utils.multi_expert_costs`), adds one router
    evaluation (hidden layer and output layer), and calls
    ``set_expert_costs(shared, experts, router)`` on every metric of the
    validation and test evaluators that is an
    :class:`~shike_mm.protocols.ExpertCostsConsumer` (``LongTailAccuracy``
    then reports ``relative_flops`` next to ``experts_used``). Models whose
    head has no router are left alone.

    Args:
        input_shape (Sequence[int]): (C, H, W) of one test image. Defaults
            to (3, 32, 32).
    """

    priority = 'LOW'

    def __init__(self, input_shape: Sequence[int] = (3, 32, 32)) -> None:
        self.input_shape = tuple(input_shape)

    def before_run(self, runner) -> None:
        from shike_mm.models.utils.expert_costs import multi_expert_costs
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        router = getattr(getattr(model, 'head', None), 'router', None)
        if router is None:
            return
        shared, experts = multi_expert_costs(model, self.input_shape)
        router_cost = float(
            router.in_channels[0] * router.hidden_channels +
            router.hidden_channels + router.top_k)
        receivers = []
        for loop_name in ('_val_loop', '_test_loop'):
            loop = getattr(runner, loop_name, None)
            if not isinstance(loop, BaseLoop):
                continue
            for metric in getattr(loop.evaluator, 'metrics', []):
                if isinstance(metric, ExpertCostsConsumer):
                    metric.set_expert_costs(shared, experts, router_cost)
                    receivers.append(type(metric).__name__)
        runner.logger.info(
            f'RoutingCostHook: {shared / 1e6:.2f} M MACs shared, '
            f'{[round(e / 1e6, 2) for e in experts]} M per expert, '
            f'{router_cost:.0f} per router evaluation; handed to '
            f'{receivers or "no metric"}.')
