# RIDE at the CPU quickstart's budget: Fashion-MNIST-LT IF100 with a
# 1,000-image head (as configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py),
# 20 epochs, LDAM re-weighting from epoch 16.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/ride_quick_20e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10, loss=dict(drw_epoch=16)))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=4))
