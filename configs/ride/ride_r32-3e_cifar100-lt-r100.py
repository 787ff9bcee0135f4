# RIDE on CIFAR-100-LT (imbalance factor 100): ResNet-32, 3 experts with
# reduced widths, LDAM-DRW + diversity loss, 200 epochs, no router.
# Paper (Wang et al., ICLR 2021, Table 1): 48.0 % top-1 (3 experts); SHIKE's
# paper quotes 48.3.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/ride_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))
