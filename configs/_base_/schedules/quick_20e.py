# A 20-epoch version of SHIKE's decoupled schedule for the CPU quickstart:
# 16 epochs of representation learning (warm-up to the base lr over epochs
# 0-2, cosine to epoch 16), then 4 epochs of classifier retraining (restart
# at 0.25 x base, 2/3 x base at epoch 17, cosine to epoch 20): the shape of
# the reference 180 + 20 schedule, compressed. Batch 128, SGD as the
# reference.
base_lr = 0.15
cornerstone = 16
max_epochs = 20

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0,
         end=3, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=cornerstone - 2, eta_min=0.0,
         begin=2, end=cornerstone, by_epoch=True),
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + 2, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - cornerstone - 1,
         eta_min=0.0, begin=cornerstone + 1, end=max_epochs, by_epoch=True),
]

# validate at the boundary and at the end (the test set has 10,000 images)
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=4)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)

# The stage boundary, owned here as in shike_200e.py.
custom_hooks = [dict(type='DecoupledRetrainHook', cornerstone=cornerstone)]
find_unused_parameters = True
