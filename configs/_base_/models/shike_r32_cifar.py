# Copyright (c) shike-mm contributors. All rights reserved.
# SHIKE, ResNet-32 for CIFAR: stem + stages 1-2 shared, stage 3 per expert,
# DKF (expert m fuses shared stage (m mod 2) + 1), cosine classifiers (s=30).
# Dataset configs override head.num_classes (default: CIFAR-100).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='SHIKEResNet',
        depth=32,
        num_experts=3,
        fusion='hadamard',
        fusion_stages=None,
        # the reference DKF alignment: stride-2 3x3 conv + BN per stage
        fusion_align='conv3x3',
        # Speed (README, Performance; same parameters, state dict and
        # mathematics, checked against tools/plain_shike.py in float64):
        # one grouped conv / BN for the 3 experts instead of a Python loop
        # (fewer kernel launches and thread synchronisations), and
        # channels-last activations (faster CPU convolutions, about 1.2x on
        # one core). On CPUs PyTorch's channels-last BatchNorm sums its
        # statistics less accurately (about 6e-6 relative at batch 128,
        # 1e-7 in NCHW); set channels_last=False for NCHW. Not measured on
        # a GPU.
        grouped_experts=True,
        channels_last=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=100,
        in_channels=64,
        num_experts=3,
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        dkt_loss=dict(type='DKTLoss', loss_weight=10.0, reduction='mean'),
        mutual_loss=dict(
            type='MutualKLLoss', loss_weight=1.0, reduction='mean'),
        retrain_loss=dict(type='BalancedSoftmaxLoss'),
    ))
