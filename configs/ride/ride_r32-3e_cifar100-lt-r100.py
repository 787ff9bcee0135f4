# RIDE on CIFAR-100-LT (imbalance factor 100): ResNet-32, 3 experts with
# reduced widths, LDAM-DRW + diversity loss, 200 epochs, no router. The
# recipe of the RIDE reference code (github.com/frank-xwang/
# RIDE-LongTailRecognition, configs/config_imbalance_cifar100_ride.json,
# data_loader/cifar_data_loaders.py): crop (padding 4) + flip +
# RandomRotation(15), batch 128, SGD 0.1 nesterov, wd 5e-4, x0.01 at 160
# and 180. SHIKE's paper (Table 1) quotes RIDE (3 experts) at 48.3 % top-1.
_base_ = [
    '../_base_/models/ride_r32_cifar.py',
    '../_base_/datasets/cifar100-lt-r100_ride-aug.py',
    '../_base_/schedules/ride_200e.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=100))
