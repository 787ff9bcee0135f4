# Copyright (c) shike-mm contributors. All rights reserved.
from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
from mmpretrain.registry import DATASETS
from .long_tail_list_dataset import LongTailListDataset


@DATASETS.register_module()
class ImageNetLT(LongTailListDataset):
    """ImageNet-LT (Liu et al., 2019): 1,000 ImageNet classes, long-tailed.

    List files ``ImageNet_LT_{train,val,test}.txt`` (115,846 / 20,000 /
    50,000 images; 1,280 to 5 training images per class) hold one
    ``relative/path label`` per line, the paths relative to the ImageNet
    root, e.g. ``train/n01440764/n01440764_10026.JPEG 0``. The expected
    layout is::

        data/imagenet-lt/
        ├── ImageNet_LT_train.txt
        ├── ImageNet_LT_val.txt
        ├── ImageNet_LT_test.txt
        ├── train/   (ImageNet train images, e.g. a symlink)
        └── val/     (ImageNet val images)

    Args:
        ann_file (str): The list file, e.g. ``'ImageNet_LT_train.txt'``.
        data_root (str): Defaults to ``'data/imagenet-lt'``.
        **kwargs: Other arguments of :class:`LongTailListDataset`.
    """

    METAINFO = {'classes': IMAGENET_CATEGORIES}

    def __init__(self,
                 ann_file: str,
                 data_root: str = 'data/imagenet-lt',
                 **kwargs):
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)
