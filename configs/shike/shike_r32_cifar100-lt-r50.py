# SHIKE on CIFAR-100-LT, imbalance factor 50 (12,608 training images);
# everything else as the IF100 config (paper: 59.8 % top-1).
_base_ = ['./shike_r32_cifar100-lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_factor=50))
