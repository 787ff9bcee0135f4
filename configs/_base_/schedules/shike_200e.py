# SHIKE's 180 + 20 epoch decoupled schedule, as in the reference
# implementation's CIFAR-100-LT run (github.com/jinyan-06/SHIKE; see
# docs/reproduction.md): SGD momentum 0.9, weight decay 5e-4, batch 128, LR
# updated once per epoch. Every value is a multiple of
# `optim_wrapper.optimizer.lr`, so the ImageNet-scale configs only override
# the base lr (0.2 ImageNet-LT, 0.025 iNat).
#   stage 1 (epochs 0-179): linear warm-up 0.025 -> 0.15 over epochs 0-5,
#       cosine from 0.15 (epoch 5) towards 0 at epoch 180;
#   stage 2 (epochs 180-199, classifier retraining by StageSwitchHook):
#       restart at 0.0375, linear to 0.1 at epoch 185, cosine towards 0 at
#       epoch 200.
# The paper's "lr 0.05" is the warm-up's starting base; the peak is 0.15.
# The stage boundary is written once, as the `begin` of the 'retrain'
# stage of the hook below; the stage-2 schedulers refer to that stage and
# count epochs from its first one, the stage-1 cosine ends where it
# begins (tools/train.py --epochs N rescales the whole timeline).
base_lr = 0.15
max_epochs = 200

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=5e-4,
        nesterov=False))

param_scheduler = [
    # 0.025, 0.05, ..., 0.15 over epochs 0..5
    dict(type='LinearLR', start_factor=1 / 6, end_factor=1.0, begin=0,
         end=6, by_epoch=True),
    # 0.15 * (1 + cos(pi * (e - 5) / 175)) / 2 for epochs 6..179 (from
    # epoch 5 to the end of the stage; T_max = end - begin)
    dict(type='CosineAnnealingLR', stage='representation', begin=5,
         eta_min=0.0, by_epoch=True),
    # 0.0375 (= 0.25 * 0.15) ... 0.1 (= 2/3 * 0.15) over epochs 180..185
    # (the stage's first six epochs)
    dict(type='RestartLinearLR', stage='retrain', start_factor=0.25,
         end_factor=2 / 3, begin=0, end=6, by_epoch=True),
    # 0.1 * (1 + cos(pi * (e - 185) / 15)) / 2 for epochs 186..199 (from
    # the stage's sixth epoch to its end)
    dict(type='CosineAnnealingLR', stage='retrain', begin=5, eta_min=0.0,
         by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()

# From epoch 180 on: freeze everything but head.retrain_classifiers,
# balanced-softmax loss, predictions from the retrain classifiers.
custom_hooks = [
    dict(
        type='StageSwitchHook',
        stages=[
            dict(name='retrain', begin=180,
                 trainable=('head.retrain_classifiers', ),
                 head_mode='retrain'),
        ]),
]
# The retrain classifiers are unused in stage 1, the frozen parts in
# stage 2: DDP must not wait for their gradients.
find_unused_parameters = True

# Reference batch size (one GPU x 128); `--auto-scale-lr` scales from it.
auto_scale_lr = dict(base_batch_size=128)
