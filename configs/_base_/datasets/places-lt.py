# Places-LT (Liu et al., 2019): 365 classes, about 184.5 K training images
# (4,980 to 5 per class), 7,300 val, 36,500 test (balanced).
# Data: data/places-lt/Places_LT_{train,val,test}.txt (one
# `relative/path label` per line) and the Places-365 images under
# data/places-lt/.
dataset_type = 'PlacesLT'
data_preprocessor = dict(
    num_classes=365,
    # ImageNet RGB mean / std, 0-255 range
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    # LoadImageFromFile decodes to BGR
    to_rgb=True)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # colour jitter of the Places-LT / ImageNet-LT baselines (Kang et al.)
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='LoadImageFromFile'),
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
        data_root='data/places-lt',
        ann_file='Places_LT_train.txt',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=64,  # per GPU
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/places-lt',
        ann_file='Places_LT_val.txt',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot groups (many > 100, medium 20-100, few < 20 training images) come
# from the training counts via ClassCountsHook.
val_evaluator = dict(type='LongTailAccuracy', topk=(1, 5))

test_dataloader = dict(
    batch_size=64,  # per GPU
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='data/places-lt',
        ann_file='Places_LT_test.txt',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
test_evaluator = val_evaluator
