# CIFAR-100-LT, imbalance factor 50 (12,608 training images); everything
# else as cifar100-lt-r100.py.
_base_ = ['./cifar100-lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_factor=50))
