# cRT (Kang et al., ICLR 2020) at the CPU quickstart budget, 20 epochs in
# all like every quickstart config, split at epoch 16 like the SHIKE
# quickstart:
#   stage 1 (epochs 0-15): instance-balanced training, warm-up from lr / 3
#       over epochs 0-2, cosine 0.05 * (1 + cos(pi * (e - 2) / 14)) / 2;
#   stage 2 (epochs 16-19): re-initialised classifier trained alone on
#       class-balanced batches; the LR restarts at 0.025 (half the base, as
#       the CIFAR cRT schedule) and follows a cosine over the 4 epochs.
_base_ = ['./quick_20e_cosine.py']

retrain_lr_factor = 0.5

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0,
         end=3, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='representation', begin=2,
         eta_min=0.0, by_epoch=True),
    dict(type='RestartLinearLR', stage='retrain',
         start_factor=retrain_lr_factor, end_factor=retrain_lr_factor,
         begin=0, end=1, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='retrain', eta_min=0.0,
         by_epoch=True),
]

# The stage boundary, written once.
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=16, trainable=('head', ),
                 head_mode=None, reinit=('head', ),
                 sampler=dict(type='ClassAwareSampler')),
        ]),
]
find_unused_parameters = True
