# Places-LT (Liu et al., 2019): 365 classes, about 184.5 K training images
# (4,980 to 5 per class), 7,300 val, 36,500 test (balanced).
# Data: data/places-lt/Places_LT_{train,val,test}.txt (one
# `relative/path label` per line) and the Places-365 images under
# data/places-lt/. Batch, test pipeline and metric as ImageNet-LT; training
# uses the colour jitter of the Places-LT baselines instead of RandAugment.
_base_ = ['./imagenet-lt.py']

dataset_type = 'PlacesLT'
data_preprocessor = dict(num_classes=365)

train_pipeline = [
    dict(type='LoadImageFromFileBounded',
         max_pixels={{_base_.max_image_pixels}}),
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # colour jitter of the Places-LT / ImageNet-LT baselines (Kang et al.)
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root='data/places-lt',
        ann_file='Places_LT_train.txt',
        pipeline=train_pipeline))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root='data/places-lt',
        ann_file='Places_LT_val.txt'))
test_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root='data/places-lt',
        ann_file='Places_LT_test.txt'))
