# SADE on ImageNet-LT with the public code's recipe
# (config_imagenet_lt_resnext50_sade.json and
# test_time_imagenet_lt_resnext50_sade.json): ResNeXt-50 (32x4d) with 3
# experts (RIDE's layout: stages 3-4 per expert at 3/4 width), cosine
# classifiers of scale 30, the diverse expert loss; 180 epochs, batch 64 in
# total, SGD lr 0.025, momentum 0.9, nesterov, weight decay 5e-4, cosine
# annealing to 0 without warm-up; training augmentation: random resized
# crop 224, horizontal flip, colour jitter (0.4, 0.4, 0.4). The paper
# reports 58.8 % top-1 on the uniform test set.
_base_ = [
    '../../../configs/_base_/models/ride_r50.py',
    '../../../configs/_base_/datasets/imagenet-lt.py',
    '../../../configs/_base_/default_runtime.py',
]

custom_imports = dict(
    imports=['shike_mm', 'projects.sade.sade'], allow_failed_imports=False)

model = dict(
    backbone=dict(groups=32, width_per_group=4),
    head=dict(
        num_classes=1000,
        loss=dict(_delete_=True, type='DiverseExpertLoss', tau=2.0),
        fusion=dict(type='SADEFusion')))

train_pipeline = [
    dict(type='LoadImageFromFileBounded',
         max_pixels={{_base_.max_image_pixels}}),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]
# 64 images per step in all: 2 GPUs x 32 (scale the learning rate for
# another total with auto_scale_lr).
train_dataloader = dict(
    batch_size=32, dataset=dict(pipeline=train_pipeline))

max_epochs = 180
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=5e-4,
                   nesterov=True))
param_scheduler = [
    dict(type='CosineAnnealingLR', T_max=max_epochs, eta_min=0, begin=0,
         end=max_epochs, by_epoch=True),
]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=5)
val_cfg = dict()
test_cfg = dict()
auto_scale_lr = dict(base_batch_size=64)
default_hooks = dict(logger=dict(interval=100))

# Test-time aggregation (test_training_imagenet.py): random resized crop
# 224 with scale (0.2, 1), colour jitter (0.4, 0.4, 0.4, 0.1) with
# probability 0.8, grey with probability 0.2, Gaussian blur (sigma uniform
# in [0.1, 2]) with probability 0.5, horizontal flip; batches of 128; SGD
# lr 0.025, momentum 0.9, nesterov, weight decay 5e-4; at most 5 epochs.
test_time_aggregation = dict(
    pipeline=[
        dict(type='LoadImageFromFileBounded',
             max_pixels={{_base_.max_image_pixels}}),
        dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.2, 1.0),
             backend='pillow'),
        dict(type='NumpyToPIL', to_rgb=True),
        dict(type='RandomApply', prob=0.8, transforms=[
            dict(type='torchvision/ColorJitter', brightness=0.4,
                 contrast=0.4, saturation=0.4, hue=0.1)
        ]),
        dict(type='torchvision/RandomGrayscale', p=0.2),
        dict(type='PILToNumpy', to_bgr=True),
        dict(type='RandomApply', prob=0.5, transforms=[
            dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
                 magnitude_level=10, total_level=10, magnitude_std='inf',
                 prob=1.0)
        ]),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='PackInputs'),
    ],
    batch_size=128,
    epochs=5,
    optimizer=dict(type='SGD', lr=0.025, momentum=0.9, nesterov=True,
                   weight_decay=5e-4),
    stop_below=0.05,
)
