# Copyright (c) shike-mm contributors. All rights reserved.
from .class_counts_hook import ClassCountsHook
from .epoch_aware_hook import EpochAwareHook
from .epoch_seed_hook import EpochSeedHook
from .finite_loss_hook import FiniteLossHook
from .num_classes_check_hook import NumClassesCheckHook
from .phase_time_hook import PhaseTimeHook
from .routing_cost_hook import RoutingCostHook
from .stage_switch_hook import StageSwitchHook

__all__ = [
    'ClassCountsHook', 'EpochAwareHook',
    'EpochSeedHook', 'FiniteLossHook', 'NumClassesCheckHook',
    'PhaseTimeHook', 'RoutingCostHook', 'StageSwitchHook'
]
