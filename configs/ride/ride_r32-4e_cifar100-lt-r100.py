# RIDE on CIFAR-100-LT with 4 experts (otherwise as the 3-expert config).
_base_ = ['./ride_r32-3e_cifar100-lt-r100.py']

model = dict(backbone=dict(num_experts=4))
