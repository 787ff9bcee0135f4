# SHIKE's 180 + 20 epochs (shike_200e.py), then a router stage that no
# published system has: RIDE's expert assignment trained on SHIKE's
# experts (with the retrained classifiers), 5 epochs, everything else
# frozen, class-balanced sampling, batch 512, lr 0.01 (1/15 of SHIKE's
# 0.15 base), cosine. Routed inference reports the experts used and the
# relative cost.
_base_ = ['./shike_200e.py']

max_epochs = 205
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=6, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=175, eta_min=0.0, begin=5,
         end=180, by_epoch=True),
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=180, end=186, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=15, eta_min=0.0, begin=185,
         end=200, by_epoch=True),
    # router stage: 0.01 at epoch 200, cosine to 0 at 205
    dict(type='RestartLinearLR', start_factor=1 / 15, end_factor=1 / 15,
         begin=200, end=201, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=5, eta_min=0.0, begin=200,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='DecoupledRetrainHook', cornerstone=180),
    dict(type='DecoupledRetrainHook', cornerstone=200,
         trainable=('head.router', ), head_mode='router',
         sampler=dict(type='ClassAwareSampler'), batch_size=512),
    dict(type='RoutingCostHook', input_shape=(3, 32, 32)),
]
