# Copyright (c) shike-mm contributors. All rights reserved.
import numpy as np
import pytest
from mmengine.dataset import (ClassBalancedDataset, ConcatDataset,
                              RepeatDataset)
from torch.utils.data import Subset

from mmpretrain.datasets import BaseDataset
from shike_mm.datasets import get_class_counts, get_sample_labels


class ToyDataset(BaseDataset):
    """In-memory labels, no ``class_counts`` attribute."""

    def __init__(self, labels, classes=None, **kwargs):
        self._labels = list(labels)
        metainfo = dict(classes=classes) if classes else None
        super().__init__(ann_file='', metainfo=metainfo, **kwargs)

    def load_data_list(self):
        return [dict(gt_label=int(x)) for x in self._labels]


class OnlyCatIds:
    """A dataset exposing only ``get_cat_ids``."""

    def __init__(self, labels):
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def get_cat_ids(self, idx):
        return [self.labels[idx]]


class WithCounts:
    class_counts = [5, 0, 2]


LABELS = [0, 2, 2, 1, 2, 0, 2]


def test_bincount_of_gt_labels():
    ds = ToyDataset(LABELS)
    assert get_class_counts(ds) == [2, 1, 4]
    assert get_class_counts(ds, num_classes=5) == [2, 1, 4, 0, 0]
    named = ToyDataset(LABELS, classes=('a', 'b', 'c', 'd'))
    assert get_class_counts(named) == [2, 1, 4, 0]
    assert get_class_counts(OnlyCatIds(LABELS)) == [2, 1, 4]
    assert get_sample_labels(ds).tolist() == LABELS


def test_class_counts_attribute_wins():
    assert get_class_counts(WithCounts()) == [5, 0, 2]
    assert get_class_counts(WithCounts(), num_classes=4) == [5, 0, 2, 0]


def test_wrappers_are_unwrapped():
    ds = ToyDataset(LABELS)
    # distinct images per class, not repeats
    assert get_class_counts(RepeatDataset(ds, times=3)) == [2, 1, 4]
    assert get_class_counts(ClassBalancedDataset(ds, 0.9)) == [2, 1, 4]
    other = ToyDataset([3, 3, 0])
    assert get_class_counts(ConcatDataset([ds, other])) == [3, 1, 4, 2]
    assert get_class_counts(Subset(ds, [1, 2, 3])) == [0, 1, 2]


def test_label_beyond_num_classes():
    with pytest.raises(ValueError, match='label 2, outside \\[0, 2\\)'):
        get_class_counts(ToyDataset(LABELS), num_classes=2)


def test_no_labels_at_all():
    with pytest.raises(TypeError, match='cannot be read'):
        get_class_counts(object())


def test_returns_plain_ints():
    counts = get_class_counts(ToyDataset(LABELS))
    assert all(type(c) is int for c in counts)
    assert isinstance(get_sample_labels(ToyDataset(LABELS)), np.ndarray)
