# The CIFAR-LT schedule of LDAM-DRW (Cao et al., NeurIPS 2019; reference
# code github.com/kaidic/LDAM-DRW, cifar_train.py), which its CE and focal
# baselines share: 200 epochs, batch 128, SGD momentum 0.9, weight decay
# 2e-4, base lr 0.1; linear warm-up lr * (e + 1) / 5 over epochs 0-4, then
# lr x 0.01 from epoch 160 and x 0.01 again from epoch 180 (0.1, 1e-3,
# 1e-5). The LR is set once per epoch, as in the reference.
base_lr = 0.1
max_epochs = 200
warmup_epochs = 5
milestones = [160, 180]

optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=base_lr, momentum=0.9, weight_decay=2e-4,
        nesterov=False))

param_scheduler = [
    # 0.02, 0.04, ..., 0.1 over epochs 0..4
    dict(type='LinearLR', start_factor=1 / warmup_epochs, end_factor=1.0,
         begin=0, end=warmup_epochs, by_epoch=True),
    dict(type='MultiStepLR', milestones=milestones, gamma=0.01, begin=0,
         end=max_epochs, by_epoch=True),
]

train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=128)
