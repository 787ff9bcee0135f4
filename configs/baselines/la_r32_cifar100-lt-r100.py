# Logit-adjusted loss (Menon et al., ICLR 2021), CE(z + tau * log pi, y)
# with tau = 1, on CIFAR-100-LT (IF 100); the class counts come from the
# training set through ClassCountsHook. Everything else as CE.
_base_ = ['./ce_r32_cifar100-lt-r100.py']

model = dict(head=dict(loss=dict(type='LogitAdjustLoss', tau=1.0,
                                 _delete_=True)))
