# Paper Table 5 on CIFAR-100-LT: SHIKE with 2 experts (the paper's
# Table 5 is on ImageNet-LT). Expert m fuses shared stage (m mod 2) + 1.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(backbone=dict(num_experts=2))
