# Same-budget baseline for the quickstart: plain cross-entropy on
# mmpretrain's own ResNet_CIFAR + LinearClsHead. ResNet_CIFAR only knows
# the ImageNet depths, so it is configured as the closest thing to
# ResNet-32: depth 34's first three stages (3, 4, 6 basic blocks = a
# ResNet-28), 16/32/64 channels, CIFAR stem. Same data
# (Fashion-MNIST-LT IF100, 1,000-image head), augmentation, batch, seed and
# 20-epoch LR schedule as configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py;
# no stage-2 retraining (a single joint stage).
_base_ = [
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/quick_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='ResNet_CIFAR',
        depth=34,  # basic blocks (3, 4, 6, 3); 3 stages used
        num_stages=3,
        stem_channels=16,
        base_channels=16,
        strides=(1, 2, 2),
        dilations=(1, 1, 1),
        out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0,
         end=3, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=18, eta_min=0.0, begin=2, end=20,
         by_epoch=True),
]

# one joint stage: no stage-boundary hook
custom_hooks = []
find_unused_parameters = False

default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=4))
