# RIDE's 200 experts epochs (ride_200e.py), then its expert-assignment
# (router) stage as in the reference: 5 epochs with everything but the
# router frozen, class-balanced sampling, batch 512, SGD lr 0.01 nesterov
# (x0.1 of the base lr), cosine. The router stage is a DecoupledRetrainHook
# with the head in router mode; RoutingCostHook lets the metric report
# routed inference's relative cost.
_base_ = ['./ride_200e.py']

# The router stage's first epoch, written once: the schedulers and the
# hook below are derived from it.
cornerstone = 200
max_epochs = cornerstone + 5
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=5,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[160, 180], gamma=0.01, begin=0,
         end=cornerstone, by_epoch=True),
    # router stage: 0.01 at its first epoch, cosine to 0 at the end
    dict(type='RestartLinearLR', start_factor=0.1, end_factor=0.1,
         begin=cornerstone, end=cornerstone + 1, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - cornerstone,
         eta_min=0.0, begin=cornerstone, end=max_epochs, by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(type='DecoupledRetrainHook', cornerstone=cornerstone,
         trainable=('head.router', ), head_mode='router',
         sampler=dict(type='ClassAwareSampler'), batch_size=512),
    dict(type='RoutingCostHook', input_shape=(3, 32, 32)),
]
# the router is unused before the boundary, everything else after it
find_unused_parameters = True
