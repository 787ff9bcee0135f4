# Post-hoc logit adjustment (Menon et al., ICLR 2021): the CE model,
# predicting with z - tau * log pi (tau = 1) at validation / test time.
# Training is exactly the CE baseline's.
_base_ = ['./ce_r32_cifar100-lt-r100.py']

model = dict(
    head=dict(
        _delete_=True,
        type='PostHocAdjustedHead',
        num_classes=100,
        in_channels=64,
        head=dict(
            type='LinearClsHead',
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        tau=1.0))
