# Logit-adjusted loss (tau = 1) at the quickstart budget; everything else
# as the CE config.
_base_ = ['./ce_r32_fashion-mnist-lt-r100-1k_20e.py']

model = dict(head=dict(loss=dict(type='LogitAdjustLoss', tau=1.0,
                                 _delete_=True)))
