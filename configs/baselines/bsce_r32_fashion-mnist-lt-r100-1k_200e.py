# Balanced softmax on the quickstart's data at 200 epochs, with the cosine
# schedule of its CIFAR-100-LT config (bsce_r32_cifar100-lt-r100.py), the
# counterpart of configs/shike/shike_r32_fashion-mnist-lt-r100-1k_200e.py.
_base_ = [
    '../_base_/models/resnet32_cifar.py',
    '../_base_/datasets/fashion-mnist-lt-r100-1k.py',
    '../_base_/schedules/cifar_lt_200e_cosine.py',
    '../_base_/default_runtime.py',
    '../_base_/compile.py',
]

model = dict(
    head=dict(num_classes=10,
              loss=dict(type='BalancedSoftmaxLoss', _delete_=True)))
train_cfg = dict(val_interval=5)
default_hooks = dict(logger=dict(interval=10))
