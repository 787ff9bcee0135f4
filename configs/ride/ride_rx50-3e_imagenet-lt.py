# RIDE on ImageNet-LT with ResNeXt-50 (32x4d), 3 experts. SHIKE's paper
# quotes 56.8 % top-1.
_base_ = ['./ride_r50-3e_imagenet-lt.py']

model = dict(backbone=dict(groups=32, width_per_group=4))
