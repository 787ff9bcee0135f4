# RIDE (Wang et al., ICLR 2021), ResNet-32 for CIFAR: stem + stage 1
# shared, stages 2-3 per expert narrowed to 24 / 48 channels, zero-padding
# identity shortcuts (the reference's "option A"), cosine classifiers
# (scale 30), RIDE loss: LDAM-DRW per expert (re-weighting from epoch 160)
# plus the diversity term (factor -0.45 on CIFAR). No retraining stage.
model = dict(
    type='MultiExpertClassifier',  # the head takes backbone.num_experts
    backbone=dict(type='RIDEResNet', depth=32, num_experts=3,
                  reduce_dimension=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=100,
        in_channels=48,
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='RIDELoss', max_m=0.5, s=30.0, drw_epoch=160,
                  diversity_factor=-0.45, reweight_factor=0.05),
        dkt_loss=None,
        mutual_loss=None,
        retrain_loss=None,
    ))
