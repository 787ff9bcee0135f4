# SHIKE on CIFAR-100-LT (imbalance factor 100): ResNet-32, 3 experts, DKF,
# DKT + mutual KL, 180 epochs of representation learning, then 20 epochs
# of balanced-softmax classifier retraining with everything else frozen.
# Reproduces the reference run (paper: 56.3 % top-1).
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))

custom_hooks = [
    # Epoch 180: freeze all but head.retrain_classifiers, balanced softmax.
    dict(type='DecoupledRetrainHook', cornerstone={{_base_.cornerstone}}),
]
# The retrain classifiers are unused in stage 1, the frozen parts in
# stage 2: DDP must not wait for their gradients.
find_unused_parameters = True

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=20),
    # keep the best top-1 and the last epoch
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
