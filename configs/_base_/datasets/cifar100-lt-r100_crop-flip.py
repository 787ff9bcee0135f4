# CIFAR-100-LT IF100 with the augmentation of the LDAM-DRW reference code
# (github.com/kaidic/LDAM-DRW, cifar_train.py: RandomCrop(32, padding=4),
# RandomHorizontalFlip, Normalize with the CIFAR mean / std below), which
# its CE, focal and LDAM-DRW numbers were trained with. Data, split,
# normalisation, loaders and metric as cifar100-lt-r100.py, whose SHIKE
# augmentation (AutoAugment + Cutout) is kept as `shike_aug_pipeline` for
# the `_shike-aug_` configs.
_base_ = ['./cifar100-lt-r100.py']

shike_aug_pipeline = {{_base_.train_pipeline}}

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, pad_val=0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
