# SHIKE's 180 + 20 epochs (shike_200e.py), then a router stage that no
# published system has: RIDE's expert assignment trained on SHIKE's
# experts (with the retrained classifiers), 5 epochs, everything else
# frozen, class-balanced sampling, batch 512, lr 0.01 (1/15 of SHIKE's
# 0.15 base), cosine. Routed inference reports the experts used and the
# relative cost.
_base_ = ['./shike_200e.py']

# The two stage boundaries are written once each, as the stages' `begin`
# in the hook below; every scheduler refers to a stage.
max_epochs = 205
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=6, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='representation', begin=5,
         eta_min=0.0, by_epoch=True),
    dict(type='RestartLinearLR', stage='retrain', start_factor=0.25,
         end_factor=2 / 3, begin=0, end=6, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='retrain', begin=5, eta_min=0.0,
         by_epoch=True),
    # router stage: 0.01 at its first epoch, cosine to 0 at the end
    dict(type='RestartLinearLR', stage='router', start_factor=1 / 15,
         end_factor=1 / 15, begin=0, end=1, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='router', eta_min=0.0,
         by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            # classifier retraining, as in shike_200e.py
            dict(name='retrain', begin=180,
                 trainable=('head.retrain_classifiers', ),
                 head_mode='retrain'),
            dict(name='router', begin=200, trainable=('head.router', ),
                 head_mode='router', sampler=dict(type='ClassAwareSampler'),
                 batch_size=512),
        ]),
    dict(type='RoutingCostHook', input_shape=(3, 32, 32)),
]
