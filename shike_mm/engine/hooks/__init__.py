# Copyright (c) shike-mm contributors. All rights reserved.
from .class_counts_hook import ClassCountsHook
from .compile_hook import CompileHook
from .epoch_aware_hook import EpochAwareHook
from .epoch_seed_hook import EpochSeedHook
from .finite_loss_hook import FiniteLossHook
from .load_from_check_hook import LoadFromCheckHook
from .loss_reduction_check_hook import LossReductionCheckHook
from .num_classes_check_hook import NumClassesCheckHook
from .phase_time_hook import PhaseTimeHook
from .routing_cost_hook import RoutingCostHook
from .stage_switch_hook import StageSwitchHook
from .test_dataset_check_hook import TestDatasetCheckHook

__all__ = [
    'ClassCountsHook', 'CompileHook', 'EpochAwareHook', 'EpochSeedHook',
    'FiniteLossHook', 'LoadFromCheckHook', 'LossReductionCheckHook',
    'NumClassesCheckHook', 'PhaseTimeHook', 'RoutingCostHook',
    'StageSwitchHook', 'TestDatasetCheckHook'
]
