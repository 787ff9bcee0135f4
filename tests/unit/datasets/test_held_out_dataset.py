# Copyright (c) shike-mm contributors. All rights reserved.
"""HeldOutDataset: per class the last images of a training file, never
one that the long-tailed training subset (each class's first images) uses;
an overlap is refused naming the class."""
import numpy as np
import pytest

from shike_mm.datasets import (FashionMNISTIDX, HeldOutDataset,
                               LongTailDataset)
from tests.helpers.generators import write_fashion_mnist_idx

PER_CLASS = 30


@pytest.fixture(scope='module')
def train_file(tmp_path_factory):
    root = write_fashion_mnist_idx(
        str(tmp_path_factory.mktemp('fm')), per_class=PER_CLASS,
        test_per_class=1)
    return FashionMNISTIDX(data_root=root, split='train', pipeline=[])


def test_last_images_of_each_class_disjoint_from_training(train_file):
    held_out = HeldOutDataset(train_file, per_class=8, reserved_per_class=20)
    training = LongTailDataset(train_file, imbalance_factor=10,
                               max_per_class=20)
    assert len(held_out) == 80
    assert np.bincount(held_out.get_gt_labels()).tolist() == [8] * 10
    assert not set(held_out.indices) & set(training.indices)
    labels = np.asarray(train_file.get_gt_labels())
    for c in range(10):
        in_class = np.flatnonzero(labels == c)  # file order
        kept = held_out.indices[held_out.get_gt_labels() == c]
        assert kept.tolist() == in_class[-8:].tolist()
    # an item is the wrapped dataset's item at the kept index
    info = held_out.get_data_info(5)
    same = train_file.get_data_info(int(held_out.indices[5]))
    assert info['gt_label'] == same['gt_label']
    assert np.array_equal(info['img'], same['img'])


def test_overlap_refused_naming_the_class(train_file):
    with pytest.raises(ValueError, match=r'class 0 has 30 images, fewer than '
                       r'reserved_per_class=25 \+ per_class=8'):
        HeldOutDataset(train_file, per_class=8, reserved_per_class=25)


@pytest.mark.parametrize('kwargs, message', [
    (dict(per_class=0, reserved_per_class=1), 'per_class must be an integer '
     '>= 1, got 0'),
    (dict(per_class=2, reserved_per_class=-1), 'reserved_per_class must be '
     'an integer >= 0, got -1'),
    (dict(per_class=2.5, reserved_per_class=1), 'got 2.5'),
])
def test_bad_sizes_refused(train_file, kwargs, message):
    with pytest.raises(ValueError, match=message):
        HeldOutDataset(train_file, **kwargs)
