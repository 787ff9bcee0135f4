# Copyright (c) shike-mm contributors. All rights reserved.
import copy
from typing import Union

import numpy as np
from mmengine.dataset import BaseDataset
from mmpretrain.registry import DATASETS

from .class_counts import get_sample_labels, group_by_class
from .index_subset import IndexSubset


@DATASETS.register_module()
class HeldOutDataset(IndexSubset):
    """A balanced validation split held out from a training file.

    Keeps, for every class, the *last* ``per_class`` images of the wrapped
    dataset in file order. A long-tailed training subset that takes each
    class's *first* images (:class:`LongTailDataset` with
    ``selection='first'``) and at most ``reserved_per_class`` of them never
    shares an image with it, so hyper-parameters can be chosen on this
    split without looking at the test set. A class with fewer than
    ``reserved_per_class + per_class`` images is an error naming the class,
    since the two splits would overlap.

    Examples:
        >>> # Fashion-MNIST-LT-1k trains on at most the first 1,000 images of
        >>> # each class; hold out the last 300 of each of the 6,000
        >>> val = dict(
        ...     type='HeldOutDataset', per_class=300,
        ...     reserved_per_class=1000,
        ...     dataset=dict(type='FashionMNISTIDX', split='train',
        ...                  data_root='...', pipeline=[...]))

    Args:
        dataset (BaseDataset | dict): The training file's full dataset (or
            its config), with the validation pipeline.
        per_class (int): Images kept per class.
        reserved_per_class (int): How many of each class's first images the
            training subset may use.
    """

    def __init__(self, dataset: Union[BaseDataset, dict], per_class: int,
                 reserved_per_class: int):
        for name, value, least in (('per_class', per_class, 1),
                                   ('reserved_per_class', reserved_per_class,
                                    0)):
            if isinstance(value, bool) or int(value) != value or value < least:
                raise ValueError(f'HeldOutDataset: {name} must be an integer '
                                 f'>= {least}, got {value!r}')
        self.dataset = (DATASETS.build(dataset) if isinstance(dataset, dict)
                        else dataset)
        self.per_class = int(per_class)
        self.reserved_per_class = int(reserved_per_class)
        self._metainfo = copy.deepcopy(getattr(self.dataset, 'metainfo', {}))
        self._fully_initialized = False
        self.full_init()

    def full_init(self) -> None:
        """Load the wrapped dataset and choose the held-out samples."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        labels = get_sample_labels(self.dataset)
        classes = self._metainfo.get('classes')
        order, available, starts = group_by_class(
            labels, len(classes) if classes is not None else None,
            f'HeldOutDataset (wrapping {type(self.dataset).__name__})')
        needed = self.reserved_per_class + self.per_class
        short = [c for c, n in enumerate(available) if n < needed]
        if short:
            c = short[0]
            raise ValueError(
                f'HeldOutDataset: class {c} has {available[c]} images, fewer '
                f'than reserved_per_class={self.reserved_per_class} + '
                f'per_class={self.per_class}: the held-out images would '
                'overlap the training subset. Lower per_class.')
        kept = [
            order[starts[c] + available[c] - self.per_class:starts[c] +
                  available[c]] for c in range(len(available))
        ]
        self._indices = np.sort(np.concatenate(kept)).astype(np.int64)
        self._labels = labels[self._indices]
        self._fully_initialized = True
