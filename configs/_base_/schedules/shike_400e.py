# SHIKE's longer ImageNet-LT run (paper Table 2: 400 epochs, 60.3 %): the
# 200-epoch schedule's shape (shike_200e.py) with the boundary at 380. The
# schedulers of shike_200e.py refer to the stages, so they follow.
_base_ = ['./shike_200e.py']

max_epochs = 400
train_cfg = dict(max_epochs=max_epochs)
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=380,
                 trainable=('head.retrain_classifiers', ),
                 head_mode='retrain'),
        ]),
]
