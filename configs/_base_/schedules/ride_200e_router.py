# RIDE's 200 experts epochs (ride_200e.py), then its expert-assignment
# (router) stage as in the reference: 5 epochs with everything but the
# router frozen, class-balanced sampling, batch 512, SGD lr 0.01 nesterov
# (x0.1 of the base lr), cosine. The router stage is a stage of
# StageSwitchHook with the head in router mode; RoutingCostHook lets the
# metric report routed inference's relative cost.
_base_ = ['./ride_200e.py']

# The router stage's first epoch is written once, as its `begin` in the
# hook below; the schedulers refer to the stages.
max_epochs = 205
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=5,
         by_epoch=True),
    dict(type='MultiStepLR', stage='representation', milestones=[160, 180],
         gamma=0.01, by_epoch=True),
    # router stage: 0.01 at its first epoch, cosine to 0 at the end
    dict(type='RestartLinearLR', stage='router', start_factor=0.1,
         end_factor=0.1, begin=0, end=1, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='router', eta_min=0.0,
         by_epoch=True),
]
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='router', begin=200, trainable=('head.router', ),
                 head_mode='router', sampler=dict(type='ClassAwareSampler'),
                 batch_size=512),
        ]),
    dict(type='RoutingCostHook', input_shape=(3, 32, 32)),
]
# the router is unused before the boundary, everything else after it
find_unused_parameters = True
