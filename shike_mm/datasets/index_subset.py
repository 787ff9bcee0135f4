# Copyright (c) shike-mm contributors. All rights reserved.
import copy
import logging
from typing import List

import numpy as np
from mmengine.dataset import force_full_init
from mmengine.logging import print_log


class IndexSubset:
    """The part of a dataset wrapper that keeps some samples of a wrapped
    dataset: ``full_init`` of the subclass sets ``self._indices`` (indices
    into ``self.dataset``, shape (N, ), ascending), ``self._labels`` (their
    labels, shape (N, )) and ``self._fully_initialized``; this class maps
    every dataset method onto them. Used by :class:`LongTailDataset` and
    :class:`HeldOutDataset`.

    Like mmengine's ``ClassBalancedDataset``, such a wrapper does not
    support ``get_subset``.
    """

    @property
    def metainfo(self) -> dict:
        """dict: Meta information of the wrapped dataset (a copy)."""
        return copy.deepcopy(self._metainfo)

    @property
    def CLASSES(self):
        """tuple[str] | None: Class names of the wrapped dataset."""
        return self._metainfo.get('classes', None)

    @property
    @force_full_init
    def indices(self) -> np.ndarray:
        """np.ndarray: Indices into the wrapped dataset of the kept samples,
        shape (N, ), ascending."""
        return self._indices.copy()

    @force_full_init
    def get_gt_labels(self) -> np.ndarray:
        """Labels of the kept samples.

        Returns:
            np.ndarray: Labels of shape (N, ), in index order.
        """
        return self._labels.copy()

    @force_full_init
    def get_cat_ids(self, idx: int) -> List[int]:
        """Category of sample ``idx``.

        Args:
            idx (int): Index into this dataset.

        Returns:
            list[int]: The one label of the sample.
        """
        return [int(self._labels[idx])]

    @force_full_init
    def get_data_info(self, idx: int) -> dict:
        """Annotation of sample ``idx`` (no pipeline applied).

        Args:
            idx (int): Index into this dataset.

        Returns:
            dict: The wrapped dataset's annotation of that sample.
        """
        return self.dataset.get_data_info(int(self._indices[idx]))

    def __getitem__(self, idx: int):
        if not self._fully_initialized:
            print_log(
                'Please call `full_init` method manually to accelerate '
                'the speed.',
                logger='current',
                level=logging.WARNING)
            self.full_init()
        return self.dataset[int(self._indices[idx])]

    @force_full_init
    def __len__(self) -> int:
        return len(self._indices)

    def get_subset_(self, indices):
        """Not supported: sub-sample the wrapped dataset instead."""
        raise NotImplementedError(
            f'`{type(self).__name__}` does not support `get_subset`/'
            '`get_subset_`; set `indices` on the wrapped dataset instead.')

    get_subset = get_subset_
