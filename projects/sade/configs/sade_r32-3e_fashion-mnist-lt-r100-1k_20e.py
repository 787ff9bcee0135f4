# SADE at the CPU quickstart's budget: Fashion-MNIST-LT IF100 with a
# 1,000-image head, 20 epochs, the data pipeline of the other methods'
# Fashion-MNIST configs (as configs/ride/
# ride_r32-3e_fashion-mnist-lt-r100-1k_20e.py, which this inherits): RIDE's
# backbone and schedule shape with SADE's loss and fusion rule; the
# learning-rate steps are x0.1 (SADE's) at epochs 16 and 18. Test-time
# aggregation as on CIFAR, with 28x28 crops.
_base_ = [
    '../../../configs/ride/ride_r32-3e_fashion-mnist-lt-r100-1k_20e.py',
    './_base_/sade_test_time_cifar.py',
]

custom_imports = dict(
    imports=['shike_mm', 'projects.sade.sade'], allow_failed_imports=False)

model = dict(
    head=dict(
        loss=dict(_delete_=True, type='DiverseExpertLoss', tau=2.0),
        fusion=dict(type='SADEFusion')))

param_scheduler = [
    dict(type='LinearLR', start_factor=1 / 3, end_factor=1.0, begin=0, end=3,
         by_epoch=True),
    dict(type='MultiStepLR', milestones=[16, 18], gamma=0.1, begin=0,
         end=20, by_epoch=True),
]

crop_size = 28
test_time_aggregation = dict(pipeline=[
    dict(type='RandomCrop', crop_size=crop_size, padding=4, pad_val=0),
    dict(type='NumpyToPIL', to_rgb=False),
    dict(type='RandomApply', prob=0.8, transforms=[
        dict(type='torchvision/ColorJitter', brightness=0.4, contrast=0.4,
             saturation=0.4, hue=0.1)
    ]),
    dict(type='torchvision/RandomGrayscale', p=0.2),
    dict(type='PILToNumpy', to_bgr=False),
    dict(type='RandomApply', prob=0.2, transforms=[
        dict(type='GaussianBlur', magnitude_range=(0.1, 2.0),
             magnitude_level=10, total_level=10, magnitude_std='inf',
             prob=1.0)
    ]),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
])
