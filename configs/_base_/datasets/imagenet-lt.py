# ImageNet-LT (Liu et al., 2019): 1,000 classes, 115,846 training images
# (1,280 to 5 per class), 20,000 val, 50,000 test (balanced).
# Data: data/imagenet-lt/ImageNet_LT_{train,val,test}.txt (one
# `relative/path label` per line) and the ImageNet images under
# data/imagenet-lt/ (train/, val/; symlinks to an ImageNet copy work).
dataset_type = 'ImageNetLT'
data_preprocessor = dict(
    num_classes=1000,
    # ImageNet RGB mean / std, 0-255 range
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # LoadImageFromFileBounded decodes to BGR
    to_rgb=True)

# Images declaring more pixels than this (width x height, read from the
# header before decoding) are an error naming the file: a small PNG of
# 20000x20000 pixels would otherwise take GBs in a data-loader worker.
# PIL's default limit; None: no bound.
max_image_pixels = 89478485

train_pipeline = [
    dict(type='LoadImageFromFileBounded', max_pixels=max_image_pixels),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # RandAugment as in mmpretrain's ImageNet recipes (2 ops, magnitude 9
    # of 10, std 0.5); pad value = BGR ImageNet mean.
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=9,
        magnitude_std=0.5,
        hparams=dict(pad_val=[104, 116, 124], interpolation='bicubic')),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFileBounded', max_pixels=max_image_pixels),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    # per GPU: 4 GPUs x 64 = 256 in total, the usual batch of this
    # benchmark; with another number of GPUs scale the learning rate
    # (auto_scale_lr with base_batch_size=256).
    batch_size=64,
    num_workers=2,  # modest default; raise on real hardware
    # fresh workers each epoch, seeded for it by EpochSeedHook: a resumed
    # run draws the same augmentations as the uninterrupted one
    persistent_workers=False,
    dataset=dict(
        type=dataset_type,
        data_root='data/imagenet-lt',
        ann_file='ImageNet_LT_train.txt',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=64,  # per GPU
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/imagenet-lt',
        ann_file='ImageNet_LT_val.txt',
        test_mode=True,  # a failing sample is an error, never replaced
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot groups (many > 100, medium 20-100, few < 20 training images) come
# from the training counts via ClassCountsHook.
# Per-class accuracy is off here: with 1,000 (iNat: 8,142) classes it would
# fill every validation line of the log; set per_class=True for analysis.
val_evaluator = dict(type='LongTailAccuracy', topk=(1, 5), per_class=False)

test_dataloader = dict(
    batch_size=64,  # per GPU
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/imagenet-lt',
        ann_file='ImageNet_LT_test.txt',
        test_mode=True,  # a failing sample is an error, never replaced
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
