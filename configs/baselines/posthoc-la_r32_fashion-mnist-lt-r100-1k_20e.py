# Post-hoc logit adjustment (tau = 1) of the CE model at the quickstart
# budget: CE training, predictions from z - log pi.
_base_ = ['./ce_r32_fashion-mnist-lt-r100-1k_20e.py']

model = dict(
    head=dict(
        _delete_=True,
        type='PostHocAdjustedHead',
        num_classes=10,
        in_channels=64,
        head=dict(
            type='LinearClsHead',
            loss=dict(type='CrossEntropyLoss', loss_weight=1.0)),
        tau=1.0))
