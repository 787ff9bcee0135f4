# SHIKE's 180 + 20 epoch decoupled schedule, as in the reference
# implementation's CIFAR-100-LT run (github.com/jinyan-06/SHIKE; see
# docs/reproduction.md): SGD momentum 0.9, weight decay 5e-4, batch 128, LR
# updated once per epoch. Every value is a multiple of
# `optim_wrapper.optimizer.lr`, so the ImageNet-scale configs only override
# the base lr (0.2 ImageNet-LT, 0.025 iNat).
#   stage 1 (epochs 0-179): linear warm-up 0.025 -> 0.15 over epochs 0-5,
#       cosine from 0.15 (epoch 5) towards 0 at epoch 180;
#   stage 2 (epochs 180-199, classifier retraining by DecoupledRetrainHook):
#       restart at 0.0375, linear to 0.1 at epoch 185, cosine towards 0 at
#       epoch 200.
# The paper's "lr 0.05" is the warm-up's starting base; the peak is 0.15.
# This file owns the stage boundary: the hook and the schedulers below are
# derived from `cornerstone` here, and the hook checks at the start of
# training that they still agree (tools/train.py --epochs N rescales both).
base_lr = 0.15
cornerstone = 180
max_epochs = 200
warmup_epochs = 5
retrain_warmup_epochs = 5

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    # 0.025, 0.05, ..., 0.15 over epochs 0..5
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=warmup_epochs + 1, by_epoch=True),
    # 0.15 * (1 + cos(pi * (e - 5) / 175)) / 2 for epochs 6..179
    dict(type='CosineAnnealingLR', T_max=cornerstone - warmup_epochs,
         eta_min=0.0, begin=warmup_epochs, end=cornerstone, by_epoch=True),
    # 0.0375 (= 0.25 * 0.15) ... 0.1 (= 2/3 * 0.15) over epochs 180..185
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + retrain_warmup_epochs + 1,
         by_epoch=True),
    # 0.1 * (1 + cos(pi * (e - 185) / 15)) / 2 for epochs 186..199
    dict(type='CosineAnnealingLR',
         T_max=max_epochs - cornerstone - retrain_warmup_epochs, eta_min=0.0,
         begin=cornerstone + retrain_warmup_epochs, end=max_epochs,
         by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# From `cornerstone` on: freeze everything but head.retrain_classifiers,
# balanced-softmax loss, predictions from the retrain classifiers.
custom_hooks = [dict(type='DecoupledRetrainHook', cornerstone=cornerstone)]
# The retrain classifiers are unused in stage 1, the frozen parts in
# stage 2: DDP must not wait for their gradients.
find_unused_parameters = True

# Reference batch size (one GPU x 128); `--auto-scale-lr` scales from it.
auto_scale_lr = dict(base_batch_size=128)
