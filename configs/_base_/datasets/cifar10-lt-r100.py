# CIFAR-10-LT, imbalance factor 100 (12,406 training images).
# Training split: the first int(5000 * 0.01 ** (c / 9)) images of class c in
# the original training-file order. Validation / test: the full balanced
# CIFAR-10 test set (10,000 images).
# Data: data/cifar10/cifar-10-batches-py/{data_batch_1..5,test_batch,
# batches.meta} (the extracted python-version archive; never downloaded).
# Pipelines, normalisation, batch and metric as CIFAR-100-LT.
_base_ = ['./cifar100-lt-r100.py']

dataset_type = 'OfflineCIFAR10'
data_preprocessor = dict(num_classes=10)

train_dataloader = dict(
    dataset=dict(dataset=dict(type=dataset_type, data_root='data/cifar10')))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root='data/cifar10'))
test_dataloader = val_dataloader
