# RIDE on ImageNet-LT: ResNet-50, 3 experts (stages 3-4 per expert,
# reduced widths), 100 epochs. Paper (Table 3, 3 experts): 54.9 % top-1;
# SHIKE's paper quotes 55.4.
_base_ = [
    '../_base_/models/ride_r50.py',
    '../_base_/datasets/imagenet-lt.py',
    '../_base_/schedules/ride_100e_imagenet.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=1000))
default_hooks = dict(logger=dict(interval=100))
