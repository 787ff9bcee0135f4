# iNaturalist 2018: 8,142 classes, 437,513 training images (naturally
# long-tailed), 24,426 val images (3 per class), used for val and test.
# Data: data/inat2018/iNaturalist18_{train,val}.txt (one
# `relative/path label` per line) and the images under data/inat2018/
# (train_val2018/...). Pipelines, batch and metric as ImageNet-LT.
_base_ = ['./imagenet-lt.py']

dataset_type = 'INaturalist2018'
data_preprocessor = dict(num_classes=8142)

train_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root='data/inat2018',
        ann_file='iNaturalist18_train.txt'))
val_dataloader = dict(
    dataset=dict(
        type=dataset_type,
        data_root='data/inat2018',
        ann_file='iNaturalist18_val.txt'))
test_dataloader = val_dataloader
