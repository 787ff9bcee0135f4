# The runtime every shike-mm config inherits: mmpretrain's, plus
# - the plugin itself (registers models, datasets, hooks, metrics ...),
# - DeviceAwareRunner (gloo on machines without a GPU, nccl otherwise;
#   checked checkpoint loading),
# - ClassCountsHook, which hands the training set's class counts to the
#   losses and metrics that need them,
# - EpochAwareHook, which tells the losses that change with the epoch
#   (LDAM-DRW, RIDE) which epoch is being trained,
# - EpochSeedHook, which makes a resumed run draw the same random numbers
#   as the uninterrupted one,
# - SyncBuffersHook (mmengine), which averages BN statistics over the ranks,
# - FiniteLossHook, which stops training at the first nan/inf loss before
#   it reaches the weights and never saves non-finite weights,
# - NumClassesCheckHook, which checks num_classes against the data's classes
#   before the first step,
# - LossReductionCheckHook, which refuses an mmpretrain loss with an unknown
#   `reduction` before the first step,
# - a checkpoint every epoch keeping the last one and the best top-1,
#   written atomically (AtomicCheckpointHook: an older checkpoint is
#   removed only once the new one is on disk and last_checkpoint names
#   it; SIGTERM finishes the checkpoint being written, then exits).
_base_ = 'mmpretrain::_base_/default_runtime.py'

custom_imports = dict(imports=['shike_mm'], allow_failed_imports=False)
runner_type = 'DeviceAwareRunner'

# These hooks are entries of `default_hooks` (a dict, so configs inherit and
# override them by name) and leave `custom_hooks` to the recipes.
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    class_counts=dict(type='ClassCountsHook'),
    epoch_aware=dict(type='EpochAwareHook'),
    epoch_seed=dict(type='EpochSeedHook'),
    # Average BN statistics over the ranks after every training epoch, so
    # that every rank validates (and the checkpoint holds) the same model.
    sync_buffers=dict(type='SyncBuffersHook'),
    finite_loss=dict(type='FiniteLossHook'),
    num_classes_check=dict(type='NumClassesCheckHook'),
    loss_reduction_check=dict(type='LossReductionCheckHook'),
    # seconds spent training vs validating, after each validation and at
    # the end (train_cfg.val_interval sets how often to validate)
    phase_time=dict(type='PhaseTimeHook'),
    checkpoint=dict(type='AtomicCheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'),
)

# Reproducible by default: a fixed seed, shared by every rank.
randomness = dict(seed=0, deterministic=False)
