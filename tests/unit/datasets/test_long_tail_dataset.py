# Copyright (c) shike-mm contributors. All rights reserved.
import pickle
import random

import numpy as np
import pytest
import torch

from mmpretrain.registry import DATASETS
from shike_mm.datasets import (LongTailDataset, OfflineCIFAR100,
                               get_class_counts, long_tail_counts)
from tests.helpers.generators import decode_index, write_cifar

PER_CLASS = 50


@pytest.fixture(scope='module')
def cifar100_root(tmp_path_factory):
    return write_cifar(
        str(tmp_path_factory.mktemp('cifar100')),
        num_classes=100,
        per_class=PER_CLASS,
        test_per_class=2,
        variant='cifar100')


@pytest.fixture(scope='module')
def cifar100_train(cifar100_root):
    return OfflineCIFAR100(
        data_root=cifar100_root, split='train', verify_md5=False)


def _file_labels(root):
    with open(f'{root}/cifar-100-python/train', 'rb') as f:
        return np.asarray(pickle.load(f, encoding='latin1')['fine_labels'])


def test_exp_counts_and_first_in_file_order(cifar100_root, cifar100_train):
    ds = LongTailDataset(cifar100_train, imbalance_factor=10)
    expected = [int(PER_CLASS * 0.1**(c / 99)) for c in range(100)]
    assert ds.class_counts == expected
    assert len(ds) == sum(expected)
    assert np.bincount(ds.get_gt_labels(), minlength=100).tolist() == expected

    # The kept samples are the FIRST n_c of each class in file order.
    labels = _file_labels(cifar100_root)
    want = sorted(i for c in range(100)
                  for i in np.flatnonzero(labels == c)[:expected[c]])
    got = [decode_index(ds.get_data_info(k)['img']) for k in range(len(ds))]
    assert got == want
    assert ds.indices.tolist() == want
    for k in (0, len(ds) // 2, len(ds) - 1):
        assert ds.get_cat_ids(k) == [int(labels[want[k]])]


def test_interface(cifar100_train):
    ds = LongTailDataset(cifar100_train, imbalance_factor=10)
    assert ds.CLASSES == cifar100_train.CLASSES and len(ds.CLASSES) == 100
    assert ds.metainfo == cifar100_train.metainfo
    item = ds[3]  # no pipeline: the raw sample dict
    assert item['img'].shape == (32, 32, 3) and item['img'].dtype == np.uint8
    assert item['gt_label'] == ds.get_cat_ids(3)[0]
    assert get_class_counts(ds) == ds.class_counts
    assert 'LongTailDataset' in repr(ds)
    with pytest.raises(NotImplementedError):
        ds.get_subset_([0])


def test_built_from_config_and_lazy(cifar100_root):
    cfg = dict(
        type='LongTailDataset',
        imbalance_factor=10,
        lazy_init=True,
        dataset=dict(
            type='OfflineCIFAR100',
            data_root=cifar100_root,
            split='train',
            verify_md5=False,
            pipeline=[dict(type='PackInputs')]))
    ds = DATASETS.build(cfg)
    assert not ds._fully_initialized
    ds.full_init()
    assert ds.class_counts[0] == PER_CLASS and ds.class_counts[-1] == 5
    packed = ds[0]
    assert packed['inputs'].shape == (3, 32, 32)


def test_max_per_class_caps_n_max_before_profile(cifar100_train):
    ds = LongTailDataset(cifar100_train, imbalance_factor=10, max_per_class=20)
    assert ds.class_counts == long_tail_counts(20, 100, 10)
    assert ds.class_counts[0] == 20 and ds.class_counts[-1] == 2


def test_step_profile(cifar100_train):
    ds = LongTailDataset(cifar100_train, imbalance_factor=10, profile='step')
    assert ds.class_counts == [50] * 50 + [5] * 50


def test_random_selection_is_seeded_and_side_effect_free(cifar100_train):
    np.random.seed(123)
    random.seed(123)
    torch.manual_seed(123)
    before = (np.random.get_state()[1].copy(), random.getstate(),
              torch.get_rng_state().clone())
    a = LongTailDataset(
        cifar100_train, imbalance_factor=10, selection='random', seed=1)
    after = (np.random.get_state()[1], random.getstate(),
             torch.get_rng_state())
    assert np.array_equal(before[0], after[0])
    assert before[1] == after[1]
    assert torch.equal(before[2], after[2])

    b = LongTailDataset(
        cifar100_train, imbalance_factor=10, selection='random', seed=1)
    c = LongTailDataset(
        cifar100_train, imbalance_factor=10, selection='random', seed=2)
    first = LongTailDataset(cifar100_train, imbalance_factor=10)
    assert a.indices.tolist() == b.indices.tolist()
    assert a.indices.tolist() != c.indices.tolist()
    assert a.indices.tolist() != first.indices.tolist()
    assert a.class_counts == first.class_counts
    assert np.all(np.diff(a.indices) > 0)  # file order kept


def test_cifar10_variant(tmp_path):
    root = write_cifar(
        str(tmp_path), num_classes=10, per_class=100, test_per_class=3,
        variant='cifar10')
    ds = DATASETS.build(
        dict(
            type='LongTailDataset',
            imbalance_factor=100,
            dataset=dict(
                type='OfflineCIFAR10',
                data_root=root,
                split='train',
                verify_md5=False)))
    assert ds.class_counts == [int(100 * 0.01**(c / 9)) for c in range(10)]
    assert ds.class_counts[-1] == 1


@pytest.mark.parametrize('kwargs, match', [
    (dict(imbalance_factor=0.5), 'imbalance_factor must be a number >= 1'),
    (dict(imbalance_factor=10, profile='linear'),
     "unknown long-tail profile 'linear'"),
    (dict(imbalance_factor=10, selection='last'), "unknown selection 'last'"),
    (dict(imbalance_factor=10, max_per_class=0), 'max_per_class'),
])
def test_bad_arguments(cifar100_train, kwargs, match):
    with pytest.raises(ValueError, match=match):
        LongTailDataset(cifar100_train, **kwargs)


def test_class_with_zero_images_is_named(cifar100_train):
    # n_max = 50, IF 100: classes at the tail keep int(50 * 0.01 ** ...) = 0.
    with pytest.raises(
            ValueError,
            match=r'class 85 would keep 0 images \(also classes \[86, '):
        LongTailDataset(cifar100_train, imbalance_factor=100)
