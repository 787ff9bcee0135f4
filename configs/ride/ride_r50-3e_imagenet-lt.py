# RIDE on ImageNet-LT: ResNet-50, 3 experts (stages 3-4 per expert,
# reduced widths), 100 epochs. The recipe of the RIDE reference code
# (github.com/frank-xwang/RIDE-LongTailRecognition,
# configs/config_imagenet_lt_resnet50_ride.json,
# data_loader/imagenet_lt_data_loaders.py): RandomResizedCrop + flip +
# ColorJitter(0.4, 0.4, 0.4, 0), batch 256, SGD 0.1 nesterov, wd 2e-4, 5
# warm-up epochs, x0.1 at 60 and 80. SHIKE's paper (Table 2) quotes RIDE
# (3 experts) at 55.4 % top-1.
_base_ = [
    '../_base_/models/ride_r50.py',
    '../_base_/datasets/imagenet-lt_ride-aug.py',
    '../_base_/schedules/ride_100e_imagenet.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=1000))
default_hooks = dict(logger=dict(interval=100))
