# SHIKE on CIFAR-10-LT, imbalance factor 100 (12,406 training images), with
# the CIFAR-100 recipe. 3 experts, DKF with the CIFAR rule (m mod 2) + 1.
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar10-lt-r100.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=10))

custom_hooks = [
    dict(type='DecoupledRetrainHook', cornerstone={{_base_.cornerstone}}),
]
find_unused_parameters = True

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
