# SHIKE's longer ImageNet-LT run (paper Table 2: 400 epochs, 60.3 %): the
# 200-epoch schedule's shape (shike_200e.py) with the boundary at 380.
_base_ = ['./shike_200e.py']

cornerstone = 380
max_epochs = 400
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=6, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=cornerstone - 5, eta_min=0.0,
         begin=5, end=cornerstone, by_epoch=True),
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + 6, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - cornerstone - 5,
         eta_min=0.0, begin=cornerstone + 5, end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [dict(type='DecoupledRetrainHook', cornerstone=cornerstone)]
