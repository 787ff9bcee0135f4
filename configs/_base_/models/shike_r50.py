# Copyright (c) shike-mm contributors. All rights reserved.
# SHIKE, ResNet-50 (ImageNet-LT / iNaturalist 2018): stem + stages 1-3
# shared, stage 4 per expert, DKF (expert m fuses shared stage m + 1),
# cosine classifiers (s=30).
# Dataset configs override head.num_classes (default: ImageNet-LT, 1000).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SHIKEResNet',
        depth=50,
        num_experts=3,
        fusion='hadamard',
        fusion_stages=None,
        frozen_stages=-1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=1000,
        in_channels=2048,
        num_experts=3,
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mutual_loss=dict(
            type='MutualKLLoss', loss_weight=1.0, reduction='mean'),
        retrain_loss=dict(type='BalancedSoftmaxLoss'),
    ))
