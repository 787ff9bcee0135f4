# RIDE's CIFAR schedule compressed to the CPU quickstart's 20 epochs (the
# shape of ride_200e.py / 10): warm-up over epochs 0-2, x0.01 at epochs
# 16 and 18; the RIDE loss re-weights from epoch 16 (set in the leaf).
# The peak lr is RIDE's CIFAR rate 0.1 divided by 3, the factor that every
# Fashion-MNIST-LT quickstart schedule applies to its CIFAR rate (see
# quick_20e.py).
max_epochs = 20
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1 / 3, momentum=0.9, weight_decay=5e-4,
                   nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0, end=3,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[16, 18], gamma=0.01, begin=0,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
