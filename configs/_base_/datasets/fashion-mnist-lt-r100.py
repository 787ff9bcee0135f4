# Fashion-MNIST-LT, imbalance factor 100 (14,886 training images: the first
# int(6000 * 0.01 ** (c / 9)) images of class c in file order).
# Validation / test: the full balanced test set (10,000 images).
# Data: the gzipped IDX files of the Debian package dataset-fashion-mnist
# (apt-get install -y dataset-fashion-mnist), read without unpacking;
# images are 28x28, grey replicated to 3 channels.
dataset_type = 'FashionMNISTIDX'
data_preprocessor = dict(
    num_classes=10,
    # Fashion-MNIST training-set mean / std (0.2860 / 0.3530) x 255, the
    # same for the three replicated channels.
    mean=[72.940, 72.940, 72.940],
    std=[90.021, 90.021, 90.021],
    to_rgb=False)

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=4, pad_val=0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,  # per GPU
    num_workers=2,
    # fresh workers each epoch, seeded for it by EpochSeedHook: a resumed
    # run draws the same augmentations as the uninterrupted one
    persistent_workers=False,
    dataset=dict(
        type='LongTailDataset',
        imbalance_factor=100,
        profile='exp',
        selection='first',
        dataset=dict(
            type=dataset_type,
            data_root='/usr/share/datasets/fashion-mnist',
            split='train',
            pipeline=train_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=True),
)

val_dataloader = dict(
    batch_size=128,  # per GPU
    num_workers=2,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root='/usr/share/datasets/fashion-mnist',
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot groups come from the training counts via ClassCountsHook.
val_evaluator = dict(type='LongTailAccuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
