# SHIKE on ImageNet-LT for 380 + 20 epochs (paper Table 2: 60.3 %).
_base_ = [
    '../_base_/models/shike_r50.py',
    '../_base_/datasets/imagenet-lt.py',
    '../_base_/schedules/shike_400e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=0.2))
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(logger=dict(interval=100))
