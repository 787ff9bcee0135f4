# SADE's test-time aggregation on CIFAR (public test_training_cifar.py and
# test_time_cifar100_ir100_sade.json), read by
# projects/sade/tools/test_time_aggregate.py: on each unlabelled test
# distribution, two views of every image, each a random 32x32 crop of the
# 4-pixel zero-padded image, colour jitter (0.4, 0.4, 0.4, 0.1) with
# probability 0.8, grey with probability 0.2, Gaussian blur (sigma uniform
# in [0.1, 2]) with probability 0.2 and a horizontal flip with probability
# 0.5; batches of 128 shuffled images; SGD lr 0.1, momentum 0.9, nesterov,
# weight decay 5e-4 on the fusion weights only; at most 5 epochs, stopping
# after an epoch in which an expert's weight (rounded to 2 decimals) fell
# below 0.05.
crop_size = 32
test_time_aggregation = dict(
    pipeline=[
        dict(type='RandomCrop', crop_size=crop_size, padding=4, pad_val=0),
        dict(type='NumpyToPIL', to_rgb=False),
        dict(type='RandomApply', prob=0.8, transforms=[
            dict(type='torchvision/ColorJitter', brightness=0.4,
                 contrast=0.4, saturation=0.4, hue=0.1)
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
    ],
    batch_size=128,
    epochs=5,
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, nesterov=True,
                   weight_decay=5e-4),
    stop_below=0.05,
)
