# Paper Table 4, "MoE + L_mu + L_nt" without DKF (55.79 %).
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(backbone=dict(fusion=None))
