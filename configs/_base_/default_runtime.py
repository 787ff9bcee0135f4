# The runtime every shike-mm config inherits: mmpretrain's, plus
# - the plugin itself (registers models, datasets, hooks, metrics ...),
# - DeviceAwareRunner (gloo on machines without a GPU, nccl otherwise),
# - ClassCountsHook, which hands the training set's class counts to the
#   losses and metrics that need them,
# - EpochSeedHook, which makes a resumed run draw the same random numbers
#   as the uninterrupted one.
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['shike_mm'], allow_failed_imports=False)
runner_type = 'DeviceAwareRunner'

custom_hooks = [dict(type='ClassCountsHook'), dict(type='EpochSeedHook')]

default_hooks = dict(logger=dict(type='LoggerHook', interval=50))

# Reproducible by default: a fixed seed, shared by every rank.
randomness = dict(seed=0, deterministic=False)
