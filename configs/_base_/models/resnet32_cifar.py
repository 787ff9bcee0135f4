# Copyright (c) shike-mm contributors. All rights reserved.
# The single-path ResNet-32 of the CIFAR-LT baselines (He et al. 2016's
# CIFAR ResNet: 3x3 stem, 3 x 5 basic blocks, 16/32/64 channels), built by
# the same code as the SHIKE / RIDE multi-expert backbones, then global
# average pooling and a linear classifier. 472,756 parameters for 100
# classes (the reference code's zero-padding shortcuts would give 470,004;
# this backbone uses 1x1 conv + BN projections where the shape changes).
# Leaf configs change head.num_classes (dataset), head.loss (method) or
# head.type.
model = dict(
    type='ImageClassifier',
    backbone=dict(type='SinglePathResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
