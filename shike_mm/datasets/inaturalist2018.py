# Copyright (c) shike-mm contributors. All rights reserved.
from mmpretrain.registry import DATASETS
from .long_tail_list_dataset import LongTailListDataset

#: iNaturalist 2018 class names are not shipped; classes are named by index.
INATURALIST2018_CLASSES = tuple(str(i) for i in range(8142))


@DATASETS.register_module()
class INaturalist2018(LongTailListDataset):
    """iNaturalist 2018 (Van Horn et al.): 8,142 naturally long-tailed
    species.

    List files ``iNaturalist18_{train,val}.txt`` (437,513 / 24,426 images)
    hold one ``relative/path label`` per line, e.g.
    ``train_val2018/Plantae/7477/3b60c94....jpg 7477``, paths relative to
    ``data_root``::

        data/inat2018/
        ├── iNaturalist18_train.txt
        ├── iNaturalist18_val.txt
        └── train_val2018/

    Class names are the label indices as strings (``'0'`` ... ``'8141'``);
    pass ``classes=<file with one name per line>`` for real names.

    Args:
        ann_file (str): The list file, e.g. ``'iNaturalist18_train.txt'``.
        data_root (str): Defaults to ``'data/inat2018'``.
        **kwargs: Other arguments of :class:`LongTailListDataset`.
    """

    METAINFO = {'classes': INATURALIST2018_CLASSES}

    def __init__(self,
                 ann_file: str,
                 data_root: str = 'data/inat2018',
                 **kwargs):
        super().__init__(ann_file=ann_file, data_root=data_root, **kwargs)
