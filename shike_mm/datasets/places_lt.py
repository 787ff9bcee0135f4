# Copyright (c) shike-mm contributors. All rights reserved.
from mmpretrain.registry import DATASETS
from .long_tail_list_dataset import LongTailListDataset

#: Places-365 class names are not shipped; classes are named by index.
PLACES365_CLASSES = tuple(str(i) for i in range(365))


@DATASETS.register_module()
class PlacesLT(LongTailListDataset):
    """Places-LT (Liu et al., 2019): 365 Places-365 scene classes,
    long-tailed.

    List files ``Places_LT_{train,val,test}.txt`` (about 184.5 K training
    images, 4,980 to 5 per class; 7,300 val; 36,500 test) hold one
    ``relative/path label`` per line, paths relative to ``data_root``, e.g.
    ``data_256/a/airfield/00000001.jpg 0``::

        data/places-lt/
        ├── Places_LT_train.txt
        ├── Places_LT_val.txt
        ├── Places_LT_test.txt
        └── data_256/ (Places-365 standard images; the val / test
                       lists point to their own folder, e.g. val_256/)

    Class names are the label indices as strings (``'0'`` ... ``'364'``);
    pass ``classes=<file with one name per line>`` (e.g. Places-365's
    ``categories_places365.txt`` reduced to names) for real names.

    Args:
        ann_file (str): The list file, e.g. ``'Places_LT_train.txt'``.
        data_root (str): Defaults to ``'data/places-lt'``.
        **kwargs: Other arguments of :class:`LongTailListDataset`.
    """

    METAINFO = {'classes': PLACES365_CLASSES}

    def __init__(self,
                 ann_file: str,
                 data_root: str = 'data/places-lt',
                 **kwargs):
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)
