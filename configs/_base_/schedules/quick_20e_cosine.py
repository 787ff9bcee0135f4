# The CPU quickstart budget for single-stage baselines: 20 epochs, batch
# 128, SGD momentum 0.9, weight decay 5e-4, base lr 0.05 (the optimizer of
# the SHIKE quickstart, quick_20e.py: the CIFAR rate 0.15 divided by 3 for
# this small data set), linear warm-up from lr / 3 over epochs 0-2, then
# one cosine 0.05 * (1 + cos(pi * (e - 2) / 18)) / 2 towards 0 at epoch 20
# (no restart: there is no second stage).
base_lr = 0.05
max_epochs = 20

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0,
         end=3, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - 2, eta_min=0.0,
         begin=2, end=max_epochs, by_epoch=True),
]

# validate every 4 epochs and at the end (the test set has 10,000 images)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
