# A 200-epoch cosine schedule for CIFAR-LT, the shape of the balanced
# softmax reference configs (github.com/jiawei-ren/BalancedMetaSoftmax-
# Classification, CIFAR configs: SGD lr 0.1, momentum 0.9, weight decay
# 5e-4, cosine LR to 0): batch 128, linear warm-up lr * (e + 1) / 5 over
# epochs 0-4, then 0.1 * (1 + cos(pi * (e - 4) / 196)) / 2, from 0.1 at
# epoch 4 towards 0 at epoch 200. The LR is set once per epoch.
base_lr = 0.1
max_epochs = 200
warmup_epochs = 5

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    # 0.02, 0.04, ..., 0.1 over epochs 0..4
    dict(type='LinearLR', start_factor=1 / warmup_epochs, end_factor=1.0,
         begin=0, end=warmup_epochs, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - warmup_epochs + 1,
         eta_min=0.0, begin=warmup_epochs - 1, end=max_epochs,
         by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
