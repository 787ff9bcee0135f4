# SADE on CIFAR-100-LT (imbalance factor 100) with the public code's recipe
# (config_cifar100_ir100_sade.json): ResNet-32 with 3 experts, the diverse
# expert loss, 200 epochs; its training augmentation (random 32x32 crop of
# the 4-pixel zero-padded image, horizontal flip, rotation uniform in
# [-15, 15] degrees; no AutoAugment / Cutout: RIDE's, whose dataset base
# it uses) and its test-time aggregation. The paper reports 49.8 % top-1
# on the uniform test set.
_base_ = [
    './_base_/sade_r32_cifar.py',
    '../../../configs/_base_/datasets/cifar100-lt-r100_ride-aug.py',
    './_base_/sade_cifar_200e.py',
    './_base_/sade_test_time_cifar.py',
    '../../../configs/_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['shike_mm', 'projects.sade.sade'], allow_failed_imports=False)

model = dict(head=dict(num_classes=100))
