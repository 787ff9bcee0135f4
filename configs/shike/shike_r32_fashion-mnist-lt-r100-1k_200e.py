# SHIKE on the quickstart's data (Fashion-MNIST-LT, IF 100, 1,000-image head
# class) at the paper's CIFAR budget: the CIFAR-100-LT schedule unchanged
# (warm-up, cosine to the stage boundary at epoch 180, restart, 20 epochs
# of balanced-softmax classifier retraining), compiled train step.
# Validated every 5 epochs for learning curves (10,000 test images each).
_base_ = [
    '../_base_/models/shike_r32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/shike_200e.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(head=dict(num_classes=10))
train_cfg = dict(val_interval=5)
default_hooks = dict(logger=dict(interval=10))
