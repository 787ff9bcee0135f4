# Copyright (c) shike-mm contributors. All rights reserved.
"""Corrupt data files and wrong loss settings give errors naming the file,
field and value."""
import gzip
import os

import pytest
import torch

from mmpretrain.registry import MODELS
from shike_mm.datasets import FashionMNISTIDX
from tests.test_datasets.generators import write_fashion_mnist_idx


@pytest.fixture
def idx_root(tmp_path):
    return write_fashion_mnist_idx(str(tmp_path), per_class=3,
                                   test_per_class=1)


def test_truncated_gz_idx_names_the_file(idx_root):
    path = os.path.join(idx_root, 'train-labels-idx1-ubyte.gz')
    with open(path, 'rb') as f:
        raw = f.read()
    with open(path, 'wb') as f:
        f.write(raw[:len(raw) // 2])
    with pytest.raises(ValueError,
                       match=f'{path}: not a readable gzip file '
                       r'\(truncated or corrupt: EOFError'):
        FashionMNISTIDX(data_root=idx_root, split='train')


def test_corrupt_gz_idx_names_the_file(idx_root):
    path = os.path.join(idx_root, 't10k-images-idx3-ubyte.gz')
    with open(path, 'rb') as f:
        raw = bytearray(f.read())
    raw[20:40] = b'\xff' * 20  # inside the deflate stream
    with open(path, 'wb') as f:
        f.write(bytes(raw))
    with pytest.raises(ValueError, match=f'{path}: not a readable gzip'):
        FashionMNISTIDX(data_root=idx_root, split='test')


def test_not_gzip_names_the_file(idx_root):
    path = os.path.join(idx_root, 'train-images-idx3-ubyte.gz')
    with open(path, 'wb') as f:
        f.write(b'plain text, not gzip')
    with pytest.raises(ValueError, match=f'{path}: not a readable gzip '
                       r'file \(truncated or corrupt: BadGzipFile'):
        FashionMNISTIDX(data_root=idx_root, split='train')
    # an intact gzip of the wrong content still gets the IDX checks
    with gzip.open(path, 'wb') as f:
        f.write(b'\x00\x00\x08\x03')
    with pytest.raises(ValueError, match='too short for an IDX file'):
        FashionMNISTIDX(data_root=idx_root, split='train')


def test_balanced_softmax_unknown_reduction():
    import shike_mm  # noqa: F401
    with pytest.raises(ValueError, match="BalancedSoftmaxLoss: "
                       "reduction='avg' is not one of"):
        MODELS.build(dict(type='BalancedSoftmaxLoss', reduction='avg',
                          class_counts=[3, 2, 1]))
    loss = MODELS.build(dict(type='BalancedSoftmaxLoss', reduction='sum',
                             class_counts=[3, 2, 1]))
    assert loss(torch.zeros(2, 3), torch.tensor([0, 1])).ndim == 0


def test_unknown_top_level_cfg_option_suggests_nearest(tmp_path, tiny_root,
                                                      python):
    from tests.conftest import run_command
    from tests.test_reliability.conftest import (TINY_CONFIG,
                                                 tiny_data_options)
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        tmp_path, '--cfg-options',
                        *tiny_data_options(tiny_root),
                        'traincfg.max_epochs=2'])
    assert proc.returncode != 0
    assert ("ValueError: --cfg-options traincfg.max_epochs: the config has "
            "no top-level entry 'traincfg'; did you mean 'train_cfg' "
            '(train_cfg.max_epochs)?') in proc.stdout
    assert 'Epoch(train)' not in proc.stdout
