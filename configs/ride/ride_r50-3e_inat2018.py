# RIDE on iNaturalist 2018: ResNet-50, 3 experts, 100 epochs, batch 512,
# lr 0.2, reweight factor 0.015, RandomResizedCrop + flip and iNaturalist
# normalisation (the RIDE reference code, github.com/frank-xwang/
# RIDE-LongTailRecognition, configs/config_iNaturalist_resnet50_ride.json,
# data_loader/inaturalist_data_loaders.py). SHIKE's paper quotes 72.6 %
# top-1.
_base_ = [
    '../_base_/models/ride_r50.py',
    '../_base_/datasets/inat2018_ride-aug.py',
    '../_base_/schedules/ride_100e_imagenet.py',
    '../_base_/default_runtime.py',
]

model = dict(head=dict(num_classes=8142, loss=dict(reweight_factor=0.015)))
train_dataloader = dict(batch_size=128)  # 4 GPUs x 128 = 512
optim_wrapper = dict(optimizer=dict(lr=0.2))
auto_scale_lr = dict(base_batch_size=512)
default_hooks = dict(logger=dict(interval=100))
