# SHIKE on CIFAR-100-LT (imbalance factor 100): ResNet-32, 3 experts, DKF,
# DKT + mutual KL, 180 epochs of representation learning, then 20 epochs
# of balanced-softmax classifier retraining with everything else frozen.
# Reproduces the reference run (paper: 56.3 % top-1).
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(head=dict(num_classes=100))
