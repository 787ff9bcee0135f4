# SHIKE's 180 + 20 epochs (shike_200e.py), then a router stage that no
# published system has: RIDE's expert assignment trained on SHIKE's
# experts (with the retrained classifiers), 5 epochs, everything else
# frozen, class-balanced sampling, batch 512, lr 0.01 (1/15 of SHIKE's
# 0.15 base), cosine. Routed inference reports the experts used and the
# relative cost.
_base_ = ['./shike_200e.py']

# The two stage boundaries, each written once: every scheduler and hook
# below is derived from them.
cornerstone = 180  # classifier retraining, as in shike_200e.py
router_epoch = 200  # the router stage
warmup_epochs = 5
retrain_warmup_epochs = 5
max_epochs = router_epoch + 5
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=warmup_epochs + 1, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=cornerstone - warmup_epochs,
         eta_min=0.0, begin=warmup_epochs, end=cornerstone, by_epoch=True),
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + retrain_warmup_epochs + 1,
         by_epoch=True),
    dict(type='CosineAnnealingLR',
         T_max=router_epoch - cornerstone - retrain_warmup_epochs,
         eta_min=0.0, begin=cornerstone + retrain_warmup_epochs,
         end=router_epoch, by_epoch=True),
    # router stage: 0.01 at its first epoch, cosine to 0 at the end
    dict(type='RestartLinearLR', start_factor=1 / 15, end_factor=1 / 15,
         begin=router_epoch, end=router_epoch + 1, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - router_epoch,
         eta_min=0.0, begin=router_epoch, end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='DecoupledRetrainHook', cornerstone=cornerstone),
    dict(type='DecoupledRetrainHook', cornerstone=router_epoch,
         trainable=('head.router', ), head_mode='router',
         sampler=dict(type='ClassAwareSampler'), batch_size=512),
    dict(type='RoutingCostHook', input_shape=(3, 32, 32)),
]
