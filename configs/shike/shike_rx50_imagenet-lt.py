# SHIKE on ImageNet-LT with ResNeXt-50 (32x4d); otherwise as the ResNet-50
# config. Paper: 59.6 % top-1.
_base_ = ['./shike_r50_imagenet-lt.py']

model = dict(backbone=dict(groups=32, width_per_group=4))
