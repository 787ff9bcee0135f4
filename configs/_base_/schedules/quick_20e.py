# A 20-epoch version of SHIKE's decoupled schedule for the CPU quickstart:
# 16 epochs of representation learning (warm-up to the base lr over epochs
# 0-2, cosine to epoch 16), then 4 epochs of classifier retraining (restart
# at 0.25 x base, 2/3 x base at epoch 17, cosine to epoch 20): the shape of
# the reference 180 + 20 schedule, compressed. Batch 128, SGD as the
# reference. The peak lr is the CIFAR recipe's 0.15 divided by 3: the
# 2,478 images of Fashion-MNIST-LT give 20 iterations an epoch against
# CIFAR-100-LT's 85, and at 0.15 the representation stage does not settle
# on this data (docs/results.md, "Why stage 1 lurches", chose 0.05 on a
# split held out from the training file).
base_lr = 0.05
max_epochs = 20

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0,
         end=3, by_epoch=True),
    # from epoch 2 to the end of the first stage
    dict(type='CosineAnnealingLR', stage='representation', begin=2,
         eta_min=0.0, by_epoch=True),
    # the retrain stage's first two epochs, then a cosine from its second
    dict(type='RestartLinearLR', stage='retrain', start_factor=0.25,
         end_factor=2 / 3, begin=0, end=2, by_epoch=True),
    dict(type='CosineAnnealingLR', stage='retrain', begin=1, eta_min=0.0,
         by_epoch=True),
]

# validate at the boundary and at the end (the test set has 10,000 images)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

# The stage boundary, written once as in shike_200e.py.
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=16,
                 trainable=('head.retrain_classifiers', ),
                 head_mode='retrain'),
        ]),
]
find_unused_parameters = True
