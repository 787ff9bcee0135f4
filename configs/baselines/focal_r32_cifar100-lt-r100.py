# Focal loss (Lin et al., ICCV 2017) on CIFAR-100-LT (IF 100) with
# mmpretrain's FocalLoss (the sigmoid form of the paper, alpha 0.25) and
# gamma 1 as the focal baseline of LDAM-DRW. Everything else as CE.
_base_ = ['./ce_r32_cifar100-lt-r100.py']

model = dict(
    head=dict(
        loss=dict(type='FocalLoss', gamma=1.0, alpha=0.25, _delete_=True)))
