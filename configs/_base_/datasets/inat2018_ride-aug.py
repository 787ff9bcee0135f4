# iNaturalist 2018 with the augmentation and normalisation of the RIDE
# reference code (github.com/frank-xwang/RIDE-LongTailRecognition,
# data_loader/inaturalist_data_loaders.py): RandomResizedCrop(224),
# RandomHorizontalFlip, Normalize([0.466, 0.471, 0.380],
# [0.195, 0.194, 0.192]); test: Resize(256), CenterCrop(224). Data,
# loaders and metric as inat2018.py (whose training pipeline has SHIKE's
# RandAugment).
_base_ = ['./inat2018.py']

data_preprocessor = dict(
    # RIDE's iNaturalist RGB mean / std x 255
    mean=[118.83, 120.105, 96.9],
    std=[49.725, 49.47, 48.96])

train_pipeline = [
    dict(type='LoadImageFromFileBounded',
         max_pixels={{_base_.max_image_pixels}}),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
