# Copyright (c) shike-mm contributors. All rights reserved.
import os.path as osp

import numpy as np
import pytest

from mmpretrain.registry import DATASETS
from shike_mm.datasets import FashionMNISTIDX, LongTailDataset
from tests.helpers.generators import (decode_index, write_fashion_mnist_idx)

DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist'
CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal',
           'Shirt', 'Sneaker', 'Bag', 'Ankle boot')


@pytest.mark.skipif(
    not osp.isdir(DEBIAN_ROOT),
    reason='dataset-fashion-mnist (Debian package) is not installed')
def test_debian_files_long_tail_if100():
    ds = DATASETS.build(
        dict(
            type='LongTailDataset',
            imbalance_factor=100,
            dataset=dict(
                type='FashionMNISTIDX', data_root=DEBIAN_ROOT,
                split='train')))
    assert len(ds) == 14886
    assert ds.class_counts == [
        6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60
    ]
    assert ds.CLASSES == CLASSES
    img = ds[0]['img']
    assert img.shape == (28, 28, 3) and img.dtype == np.uint8
    test = FashionMNISTIDX(data_root=DEBIAN_ROOT, split='test')
    assert len(test) == 10000


def test_generated_idx_files(tmp_path):
    root = write_fashion_mnist_idx(
        str(tmp_path), per_class=100, test_per_class=3)
    train = FashionMNISTIDX(data_root=root, split='train')
    assert len(train) == 1000 and train.CLASSES == CLASSES
    sample = train[7]
    assert sample['img'].shape == (28, 28, 3)
    assert sample['img'].dtype == np.uint8
    assert np.array_equal(sample['img'][..., 0], sample['img'][..., 2])
    assert decode_index(sample['img'], layout='gray') == 7

    gray = FashionMNISTIDX(data_root=root, split='test', gray_to_rgb=False)
    assert len(gray) == 30 and gray[0]['img'].shape == (28, 28)

    lt = LongTailDataset(train, imbalance_factor=100)
    assert lt.class_counts == [int(100 * 0.01**(c / 9)) for c in range(10)]
    assert len(lt) == sum(lt.class_counts)


def test_missing_files_are_listed(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        FashionMNISTIDX(data_root=str(tmp_path))
    msg = str(err.value)
    for name in ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz',
                 't10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'):
        assert name in msg
    assert 'apt-get install -y dataset-fashion-mnist' in msg


def test_bad_split(tmp_path):
    with pytest.raises(ValueError, match='split'):
        FashionMNISTIDX(data_root=str(tmp_path), split='val')
