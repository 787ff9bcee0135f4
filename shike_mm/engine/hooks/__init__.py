# Copyright (c) shike-mm contributors. All rights reserved.
from .atomic_checkpoint_hook import AtomicCheckpointHook
from .class_counts_hook import ClassCountsHook
from .decoupled_retrain_hook import DecoupledRetrainHook
from .epoch_seed_hook import EpochSeedHook
from .finite_loss_hook import FiniteLossHook
from .num_classes_check_hook import NumClassesCheckHook
from .phase_time_hook import PhaseTimeHook
from .routing_cost_hook import RoutingCostHook

__all__ = [
    'AtomicCheckpointHook', 'ClassCountsHook', 'DecoupledRetrainHook',
    'EpochSeedHook', 'FiniteLossHook', 'NumClassesCheckHook',
    'PhaseTimeHook', 'RoutingCostHook'
]
