# Copyright (c) shike-mm contributors. All rights reserved.
from .cifar10_auto_augment import CIFAR10_POLICIES, CIFAR10AutoAugment
from .loading import LoadImageFromFileBounded, header_image_size
from .random_cutout import RandomCutout

__all__ = [
    'CIFAR10_POLICIES', 'CIFAR10AutoAugment', 'LoadImageFromFileBounded',
    'RandomCutout', 'header_image_size'
]
