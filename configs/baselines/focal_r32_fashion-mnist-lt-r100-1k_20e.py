# Focal loss (mmpretrain's FocalLoss, gamma 1, alpha 0.25) at the
# quickstart budget; everything else as the CE config.
_base_ = ['./ce_r32_fashion-mnist-lt-r100-1k_20e.py']

model = dict(
    head=dict(
        loss=dict(type='FocalLoss', gamma=1.0, alpha=0.25, _delete_=True)))
