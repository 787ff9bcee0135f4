# SHIKE, ResNeXt-50 (32x4d): the ResNet-50 model with grouped bottlenecks.
# Inherits the light DKF alignment (fusion_align='pool_conv1x1', see
# shike_r50.py for the reasoning).
_base_ = ['./shike_r50.py']

model = dict(backbone=dict(groups=32, width_per_group=4))
