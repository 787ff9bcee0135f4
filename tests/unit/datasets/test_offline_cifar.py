# Copyright (c) shike-mm contributors. All rights reserved.
import os

import pytest

from shike_mm.datasets import OfflineCIFAR10, OfflineCIFAR100
from tests.helpers.generators import write_cifar


def test_missing_root_lists_expected_files(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        OfflineCIFAR100(data_root=str(tmp_path), split='train')
    msg = str(err.value)
    for name in ('train', 'test', 'meta', 'cifar-100-python'):
        assert name in msg
    assert 'Nothing is downloaded' in msg


def test_missing_file_is_named(tmp_path):
    root = write_cifar(
        str(tmp_path), num_classes=10, per_class=5, test_per_class=1,
        variant='cifar10')
    os.remove(os.path.join(root, 'cifar-10-batches-py', 'data_batch_3'))
    with pytest.raises(
            FileNotFoundError, match=r"Missing: \['data_batch_3'\]"):
        OfflineCIFAR10(data_root=root, split='train', verify_md5=False)


def test_md5_checked_by_default(tmp_path):
    root = write_cifar(
        str(tmp_path), num_classes=100, per_class=1, test_per_class=1)
    with pytest.raises(RuntimeError, match='verify_md5=False'):
        OfflineCIFAR100(data_root=root, split='test')
    ds = OfflineCIFAR100(data_root=root, split='test', verify_md5=False)
    assert len(ds) == 100 and len(ds.CLASSES) == 100
    # the class-level md5 table of mmpretrain is left untouched
    assert OfflineCIFAR100.train_list[0][1] is not None


def test_never_downloads(tmp_path):
    with pytest.raises(ValueError, match='never downloads'):
        OfflineCIFAR100(data_root=str(tmp_path), download=True)
