# SADE (Zhang et al., NeurIPS 2022), ResNet-32 for CIFAR: RIDE's
# multi-expert backbone as it is (stem + stage 1 shared, stages 2-3 per
# expert narrowed to 24 / 48 channels, zero-padding shortcuts; the public
# code's expert_resnet_cifar.py with reduce_dimension=True) and cosine
# classifiers of scale 30 (its NormedLinear with s=30). Three experts with
# SADE's diverse expert loss (softmax / balanced softmax / inverse softmax
# with tau 2) and SADE's fusion rule, whose weights start at 1/3 (the plain
# prediction, the mean of the logits) and are learned at test time by
# projects/sade/tools/test_time_aggregate.py.
_base_ = ['../../../../configs/_base_/models/ride_r32_cifar.py']

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='DiverseExpertLoss', tau=2.0),
        fusion=dict(type='SADEFusion')))
