# Copyright (c) shike-mm contributors. All rights reserved.
# SHIKE, ResNet-152 (Places-LT): stem + stages 1-3 shared, stage 4 per
# expert, DKF (expert m fuses shared stage m + 1), cosine classifiers (s=30).
# Dataset configs override head.num_classes (default: Places-LT, 365).
# Places-LT fine-tuning from ImageNet weights: set backbone.frozen_stages=3
# (stem + shared stages frozen) and backbone.init_cfg=dict(type='Pretrained',
# checkpoint=..., prefix=None); layer4 of the checkpoint initialises every
# expert copy.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SHIKEResNet',
        depth=152,
        num_experts=3,
        fusion='hadamard',
        fusion_stages=None,
        frozen_stages=-1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=365,
        in_channels=2048,
        num_experts=3,
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mutual_loss=dict(
            type='MutualKLLoss', loss_weight=1.0, reduction='mean'),
        retrain_loss=dict(type='BalancedSoftmaxLoss'),
    ))
