# ImageNet-LT with the augmentation of the RIDE reference code
# (github.com/frank-xwang/RIDE-LongTailRecognition,
# data_loader/imagenet_lt_data_loaders.py): RandomResizedCrop(224),
# RandomHorizontalFlip, ColorJitter(brightness=0.4, contrast=0.4,
# saturation=0.4, hue=0), ImageNet mean / std; test: Resize(256),
# CenterCrop(224). Data, test pipeline, loaders and metric as
# imagenet-lt.py (whose training pipeline has SHIKE's RandAugment).
_base_ = ['./imagenet-lt.py']

train_pipeline = [
    dict(type='LoadImageFromFileBounded',
         max_pixels={{_base_.max_image_pixels}}),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4,
         hue=0.0),
    dict(type='PackInputs'),
]

train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
