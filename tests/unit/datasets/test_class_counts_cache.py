# Copyright (c) shike-mm contributors. All rights reserved.
"""A list dataset reads its labels once per data list: counting them, the
class-aware sampler and every consumer use that cache."""
import numpy as np
import pytest

from shike_mm.datasets import (ClassAwareSampler, ImageNetLT,
                               get_class_counts, read_class_counts)
from tests.helpers.generators import write_list_dataset

COUNTS = [12, 7, 3, 0, 1]


@pytest.fixture(scope='module')
def root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('cache'))
    write_list_dataset(root, 'ImageNet_LT_train.txt', COUNTS, (8, 10))
    return root


@pytest.mark.parametrize('serialize', [True, False])
def test_counts_read_without_get_data_info(root, serialize, monkeypatch):
    ds = ImageNetLT(data_root=root, ann_file='ImageNet_LT_train.txt',
                    serialize_data=serialize)
    labels = np.repeat(np.arange(5), COUNTS)

    def no_per_sample_reads(idx):
        raise AssertionError('labels must come from the cache')

    monkeypatch.setattr(ds, 'get_data_info', no_per_sample_reads)
    assert ds.class_counts == COUNTS + [0] * 995
    assert sorted(ds.get_gt_labels().tolist()) == labels.tolist()
    assert get_class_counts(ds) == COUNTS + [0] * 995
    counts = read_class_counts(ds)
    assert counts.counts[:5] == tuple(COUNTS) and counts.num_classes == 1000
    assert counts.classes[:1] == (ds.CLASSES[0], )
    sampler = ClassAwareSampler(ds, seed=0)
    assert sampler.num_classes_drawn == 4
    # a copy: callers cannot change the cache
    ds.get_gt_labels()[:] = 0
    assert ds.class_counts == COUNTS + [0] * 995


def test_cache_follows_a_changed_data_list(root):
    ds = ImageNetLT(data_root=root, ann_file='ImageNet_LT_train.txt')
    full = ds.get_gt_labels()
    subset = ds.get_subset(list(range(12, 23)))  # the 7 + 3 + 1 ... tail
    assert subset.get_gt_labels().tolist() == full[12:23].tolist()
    assert ds.class_counts[:5] == COUNTS  # the original keeps its cache
    ds.get_subset_([0, 1, 22])
    assert ds.get_gt_labels().tolist() == full[[0, 1, 22]].tolist()
    assert ds.class_counts[:5] == np.bincount(
        full[[0, 1, 22]], minlength=5).tolist()
    sliced = ImageNetLT(data_root=root, ann_file='ImageNet_LT_train.txt',
                        indices=3)
    assert sliced.get_gt_labels().tolist() == full[:3].tolist()
