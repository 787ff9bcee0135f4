# RIDE (3 experts, no router) on the quickstart's data at 200 epochs, with
# the schedule of its CIFAR-100-LT config (ride_r32-3e_cifar100-lt-r100.py),
# the counterpart of configs/shike/shike_r32_fashion-mnist-lt-r100-1k_200e.py.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/ride_200e.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(head=dict(num_classes=10))
train_cfg = dict(val_interval=5)
default_hooks = dict(logger=dict(interval=10))
