# RIDE on CIFAR-100-LT (imbalance factor 100): ResNet-32, 3 experts with
# reduced widths, LDAM-DRW + diversity loss, 200 epochs, no router.
# SHIKE's paper (Table 1) quotes RIDE (3 experts) at 48.3 % top-1.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/ride_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))
