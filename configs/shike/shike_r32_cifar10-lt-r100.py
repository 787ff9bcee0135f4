# SHIKE on CIFAR-10-LT (imbalance factor 100): as the CIFAR-100-LT config.
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar10-lt-r100.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(head=dict(num_classes=10))
