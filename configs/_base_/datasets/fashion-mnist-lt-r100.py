# Fashion-MNIST-LT, imbalance factor 100 (14,886 training images: the first
# int(6000 * 0.01 ** (c / 9)) images of class c in file order).
# Validation / test: the full balanced test set (10,000 images).
# Data: the gzipped IDX files of the Debian package dataset-fashion-mnist
# (apt-get install -y dataset-fashion-mnist), read without unpacking;
# images are 28x28, grey replicated to 3 channels.
# Loaders, sampler and evaluator are the CIFAR-LT ones; only the dataset,
# its statistics and the crop size differ (no AutoAugment / Cutout).
_base_ = ['./cifar100-lt-r100.py']

dataset_type = 'FashionMNISTIDX'
data_root = '/usr/share/datasets/fashion-mnist'
data_preprocessor = dict(
    num_classes=10,
    # Fashion-MNIST training-set mean / std (0.2860 / 0.3530) x 255, the
    # same for the three replicated channels.
    mean=[72.940, 72.940, 72.940],
    std=[90.021, 90.021, 90.021])

train_pipeline = [
    dict(type='RandomCrop', crop_size=28, padding=4, pad_val=0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        dataset=dict(
            type=dataset_type, data_root=data_root,
            pipeline=train_pipeline)))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
