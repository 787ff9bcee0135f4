# SHIKE on iNaturalist 2018: ResNet-50, 3 experts fusing stages 1, 2, 3,
# 180 + 20 epochs, base lr 0.025 (paper), batch 256 (4 GPUs x 64).
# Paper: 75.4 % top-1.
_base_ = [
    '../_base_/models/shike_r50.py',
    '../_base_/datasets/inat2018.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=8142))
optim_wrapper = dict(optimizer=dict(lr=0.025))
auto_scale_lr = dict(base_batch_size=256)
default_hooks = dict(logger=dict(interval=100))
