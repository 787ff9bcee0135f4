# Paper Table 4, "MoE + DKF" (CE only in stage 1, no distillation).
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(head=dict(dkt_loss=None, mutual_loss=None))
