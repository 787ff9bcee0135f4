# SHIKE, ResNeXt-50 (32x4d): the ResNet-50 model with grouped bottlenecks.
_base_ = ['./shike_r50.py']

model = dict(backbone=dict(groups=32, width_per_group=4))
