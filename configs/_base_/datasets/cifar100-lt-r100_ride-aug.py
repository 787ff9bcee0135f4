# CIFAR-100-LT IF100 with the augmentation of the RIDE reference code
# (github.com/frank-xwang/RIDE-LongTailRecognition,
# data_loader/cifar_data_loaders.py, ImbalanceCIFAR100DataLoader):
# RandomCrop(32, padding=4), RandomHorizontalFlip, RandomRotation(15)
# (torchvision's, an angle drawn uniformly from [-15, 15] degrees, nearest
# interpolation, corners filled with 0), Normalize with the CIFAR mean / std
# of cifar100-lt-r100.py. Data, split, loaders and metric as that file,
# whose SHIKE augmentation is kept as `shike_aug_pipeline` for the
# `_shike-aug_` configs.
_base_ = ['./cifar100-lt-r100.py']

shike_aug_pipeline = {{_base_.train_pipeline}}

train_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4, pad_val=0),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # torchvision's RandomRotation works on PIL images; the CIFAR loader
    # yields RGB arrays, which stay RGB both ways
    dict(type='NumpyToPIL', to_rgb=False),
    dict(type='torchvision/RandomRotation', degrees=15),
    dict(type='PILToNumpy', to_bgr=False),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
