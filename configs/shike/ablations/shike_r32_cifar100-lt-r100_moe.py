# Paper Table 4, row 2 ("MoE", 54.23 %): 3 experts sharing stem and stages
# 1-2, no DKF, CE only in stage 1; decoupled retraining as usual.
_base_ = ['../shike_r32_cifar100-lt-r100.py']

model = dict(
    backbone=dict(fusion=None),
    head=dict(dkt_loss=None, mutual_loss=None))
