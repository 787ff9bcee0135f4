# RIDE, ResNet-50 for ImageNet-LT / iNaturalist 2018: stem + stages 1-2
# shared, stages 3-4 per expert with bottleneck widths 192 / 384 (3/4 of
# the plain 256 / 512), cosine classifiers (scale 30), RIDE loss with the
# reference's ImageNet settings (re-weighting from epoch 80, diversity
# factor -0.2, reweight factor 0.02).
model = dict(
    type='MultiExpertClassifier',  # the head takes backbone.num_experts
    backbone=dict(type='RIDEResNet', depth=50, num_experts=3,
                  reduce_dimension=True),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='MultiExpertFusionHead',
        num_classes=1000,
        in_channels=1536,  # 384 x 4
        classifier=dict(type='CosineClassifier', scale=30.0),
        loss=dict(type='RIDELoss', max_m=0.5, s=30.0, drw_epoch=80,
                  diversity_factor=-0.2, reweight_factor=0.02),
        dkt_loss=None,
        mutual_loss=None,
        retrain_loss=None,
    ))
