# SHIKE on ImageNet-LT: ResNet-50, stages 1-3 shared, a stage 4 per expert,
# experts fuse stages 1, 2, 3 (paper Table 5 "A B C"), 180 + 20 epochs,
# base lr 0.2 (paper), batch 256 (4 GPUs x 64). Paper: 59.7 % top-1.
# The warm-up and restart shape follows the reference CIFAR schedule (the
# ImageNet schedule itself is not published).
_base_ = [
    '../_base_/models/shike_r50.py',
    '../_base_/datasets/imagenet-lt.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=0.2))
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(logger=dict(interval=100))
