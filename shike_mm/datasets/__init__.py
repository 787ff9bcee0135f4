# Copyright (c) shike-mm contributors. All rights reserved.
from .class_counts import (get_class_counts, get_sample_labels,
                           read_class_counts)
from .fashion_mnist_idx import FashionMNISTIDX
from .held_out_dataset import HeldOutDataset
from .imagenet_lt import ImageNetLT
from .inaturalist2018 import INaturalist2018
from .long_tail_counts import long_tail_counts
from .long_tail_dataset import LongTailDataset
from .long_tail_list_dataset import LongTailListDataset
from .offline_cifar import OfflineCIFAR10, OfflineCIFAR100
from .places_lt import PlacesLT
from .samplers import *  # noqa: F401,F403
from .transforms import *  # noqa: F401,F403

__all__ = [
    'get_class_counts', 'get_sample_labels', 'read_class_counts',
    'long_tail_counts',
    'LongTailDataset', 'LongTailListDataset', 'ImageNetLT', 'INaturalist2018',
    'PlacesLT', 'FashionMNISTIDX', 'HeldOutDataset', 'OfflineCIFAR10',
    'OfflineCIFAR100',
    'ClassAwareSampler', 'CIFAR10AutoAugment', 'CIFAR10_POLICIES',
    'RandomCutout', 'LoadImageFromFileBounded', 'header_image_size'
]
