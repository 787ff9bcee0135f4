# Copyright (c) shike-mm contributors. All rights reserved.
# SHIKE, ResNet-32 for CIFAR: stem + stages 1-2 shared, stage 3 per expert,
# DKF (expert m fuses shared stage (m mod 2) + 1), cosine classifiers (s=30).
# Dataset configs override head.num_classes (default: CIFAR-100).
model = dict(
    type='MultiExpertClassifier',  # the head takes backbone.num_experts
    backbone=dict(
        type='SHIKEResNet',
        depth=32,
        num_experts=3,
        fusion='hadamard',
        fusion_stages=None,
        # the reference DKF alignment: stride-2 3x3 conv + BN per stage
        fusion_align='conv3x3',
        # channels-last is faster on CPUs but its BatchNorm statistics are
        # less accurate there; opt in with True (tools/benchmark.py
        # --channels-last measures it)
        channels_last=False),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=100,
        in_channels=64,
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mutual_loss=dict(
            type='MutualKLLoss', loss_weight=1.0, reduction='mean'),
        retrain_loss=dict(type='BalancedSoftmaxLoss'),
    ))
