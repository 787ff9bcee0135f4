# Paper Table 4, "MoE + DKF + L_mu" (55.26 %): mutual KL, no DKT.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(head=dict(dkt_loss=None))
