# RIDE's ImageNet-LT schedule (reference configs): 100 epochs, batch 256
# (4 GPUs x 64), SGD lr 0.1, momentum 0.9, nesterov, weight decay 2e-4,
# linear warm-up over 5 epochs, x0.1 at epochs 60 and 80.
max_epochs = 100
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=2e-4,
                   nesterov=True))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.2, end_factor=1.0, begin=0, end=5,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[60, 80], gamma=0.1, begin=0,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)
