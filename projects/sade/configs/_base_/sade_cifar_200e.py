# SADE's CIFAR-LT schedule (public config_cifar100_ir100_sade.json): 200
# epochs, batch 128, SGD lr 0.1, momentum 0.9, nesterov, weight decay
# 5e-4; linear warm-up 0.02, 0.04, ..., 0.1 over epochs 0-4 (its CustomLR,
# lr x (1 + epoch) / 5); x0.1 at epoch 160 and again at 180.
max_epochs = 200
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4,
                   nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=5,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[160, 180], gamma=0.1, begin=0,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
