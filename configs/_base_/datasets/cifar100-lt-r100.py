# CIFAR-100-LT, imbalance factor 100 (10,847 training images).
# Training split: the first int(500 * 0.01 ** (c / 99)) images of class c in
# the original training-file order. Validation / test: the full balanced
# CIFAR-100 test set (10,000 images).
# Data: data/cifar100/cifar-100-python/{train,test,meta} (the extracted
# python-version archive; never downloaded).
# Training augmentation: SHIKE's (github.com/jinyan-06/SHIKE, the same as
# the balanced softmax code's): crop, flip, CIFAR-10 AutoAugment, Cutout.
# The methods whose code trains otherwise use cifar100-lt-r100_crop-flip.py
# (LDAM-DRW code) or cifar100-lt-r100_ride-aug.py (RIDE code).
dataset_type = 'OfflineCIFAR100'
data_preprocessor = dict(
    num_classes=100,
    # RGB mean / std of the reference, x 255:
    # (0.4914, 0.4822, 0.4465) / (0.2023, 0.1994, 0.2010).
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    # the CIFAR loader yields RGB already
    to_rgb=False)

# Cutout zeroes the uint8 image before the preprocessor normalises it: the
# same as the reference's zeroing of the [0, 1] tensor before Normalize.
train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, pad_val=0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='CIFAR10AutoAugment'),
    dict(type='RandomCutout', size=16, num_holes=1, pad_val=0),
    dict(type='PackInputs'),
]

test_pipeline = [
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,  # per GPU; the reference trains on one GPU
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
            data_root='data/cifar100',
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
        data_root='data/cifar100',
        split='test',
        # a sample the pipeline cannot load is an error, never replaced by
        # another one (mmengine's BaseDataset)
        test_mode=True,
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
)
# Shot groups come from the training counts via ClassCountsHook.
val_evaluator = dict(type='LongTailAccuracy', topk=(1, 5))

test_dataloader = val_dataloader
test_evaluator = val_evaluator
