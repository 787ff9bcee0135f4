# Paper Table 4, "MoE + DKF + L_nt" (55.59 %): DKT, no mutual KL.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(head=dict(mutual_loss=None))
