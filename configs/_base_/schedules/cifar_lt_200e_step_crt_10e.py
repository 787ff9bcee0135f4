# Classifier re-training (cRT, Kang et al., ICLR 2020) after the 200-epoch
# CIFAR-LT step schedule of cifar_lt_200e_step.py:
#   stage 1 (epochs 0-199): instance-balanced training, exactly the CE
#       baseline's schedule (warm-up, x0.01 at 160 and 180);
#   stage 2 (epochs 200-209): the classifier is re-initialised and trained
#       alone (backbone frozen) on class-balanced batches (ClassAwareSampler)
#       for 10 epochs; the LR restarts at 0.05 (cRT's 0.2 for batch 512,
#       scaled to batch 128) and follows a cosine towards 0 at epoch 210.
# The stage boundary is written once, as the 'retrain' stage's begin in the
# hook below; the schedulers refer to the stages. find_unused_parameters:
# the frozen backbone gets no gradient.
_base_ = ['./cifar_lt_200e_step.py']

max_epochs = 210
retrain_lr_factor = 0.5  # x base lr 0.1

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 5, end_factor=1.0, begin=0,
         end=5, by_epoch=True),
    dict(type='MultiStepLR', stage='representation', milestones=[160, 180],
         gamma=0.01, by_epoch=True),
    # 0.05 at epoch 200 whatever stage 1 left, then
    # 0.05 * (1 + cos(pi * (e - 200) / 10)) / 2 for epochs 201..209
    dict(type='RestartLinearLR', stage='retrain',
         start_factor=retrain_lr_factor, end_factor=retrain_lr_factor,
         begin=0, end=1, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='retrain', eta_min=0.0,
         by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)

custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=200, trainable=('head', ),
                 head_mode=None, reinit=('head', ),
                 sampler=dict(type='ClassAwareSampler')),
        ]),
]
# The frozen backbone gets no gradient in stage 2: DDP must not wait for it.
find_unused_parameters = True
