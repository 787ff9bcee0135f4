# SADE's CIFAR-LT schedule (public config_cifar100_ir100_sade.json): RIDE's
# 200 epochs, batch 128, SGD lr 0.1, momentum 0.9, nesterov, weight decay
# 5e-4 and linear warm-up 0.02, 0.04, ..., 0.1 over epochs 0-4 (its
# CustomLR, lr x (1 + epoch) / 5), with one difference: x0.1 (not x0.01) at
# epoch 160 and again at 180.
_base_ = ['../../../../configs/_base_/schedules/ride_200e.py']
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=5,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[160, 180], gamma=0.1, begin=0,
         end={{_base_.max_epochs}}, by_epoch=True),
]
