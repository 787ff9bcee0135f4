# SHIKE on Places-LT: ImageNet-pretrained ResNet-152 (mmpretrain's
# checkpoint; every expert's stage 4 starts from its single stage 4), the
# shared part (stem + stages 1-3) frozen with BN statistics fixed; experts,
# DKF alignment and classifiers are fine-tuned for 30 epochs, then the
# classifiers are retrained for 20 (paper Sec. 4.2: 30 epochs of
# fine-tuning, classifier retraining 20 more). Base lr 0.02 (paper).
# Paper: 41.9 % top-1 (many 43.6, medium 39.2, few 44.8).
_base_ = [
    '../_base_/models/shike_r152.py',
    '../_base_/datasets/places-lt.py',
    '../_base_/default_runtime.py',
]

checkpoint = ('https://download.openmmlab.com/mmclassification/v0/resnet/'
              'resnet152_8xb32_in1k_20210901-4d7582fa.pth')
model = dict(
    backbone=dict(
        frozen_stages=3,
        init_cfg=dict(type='Pretrained', checkpoint=checkpoint,
                      prefix='backbone')),
    head=dict(num_classes=365))

cornerstone = 30
max_epochs = 50
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=5e-4))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=cornerstone, eta_min=0.0, begin=0,
         end=cornerstone, by_epoch=True),
    # the classifier-retraining restart, shaped as in the CIFAR reference
    dict(type='RestartLinearLR', start_factor=0.25, end_factor=2 / 3,
         begin=cornerstone, end=cornerstone + 6, by_epoch=True),
    dict(type='CosineAnnealingLR', T_max=max_epochs - cornerstone - 5,
         eta_min=0.0, begin=cornerstone + 5, end=max_epochs, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=1)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=256)

custom_hooks = [
    dict(type='DecoupledRetrainHook', cornerstone=cornerstone),
]
find_unused_parameters = True

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=1,
                    save_best='accuracy/top1', rule='greater'))
