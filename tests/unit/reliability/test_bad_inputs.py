# Copyright (c) shike-mm contributors. All rights reserved.
"""Corrupt data files and wrong loss settings give errors naming the file,
field and value. The cases that start a process or compile are in
tests/integration/reliability/test_bad_inputs.py."""
import gzip
import os

import pytest
import torch

from mmpretrain.registry import MODELS
from shike_mm.datasets import FashionMNISTIDX
from tests.helpers.generators import write_fashion_mnist_idx


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


SHIKE_QUICK = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'


@pytest.mark.parametrize('value', [-1, 0, 2.5, '3', True])
@pytest.mark.parametrize('part,field', [
    (dict(type='SHIKEResNet', depth=32), 'model.backbone.num_experts'),
    (dict(type='RIDEResNet', depth=32), 'model.backbone.num_experts'),
    (dict(type='MultiExpertFusionHead', num_classes=4, in_channels=64),
     'model.head.num_experts'),
])
def test_num_experts_out_of_range_names_the_field(part, field, value):
    """-1 used to be reported as a fusion_stages problem and 2.5 as a bare
    "'float' object cannot be interpreted as an integer"; True built one
    expert."""
    import shike_mm  # noqa: F401
    with pytest.raises(ValueError) as info:
        MODELS.build(dict(part, num_experts=value))
    assert (f'{part["type"]}: num_experts={value!r} ({field} in a config) '
            'is not valid: it must be a whole number >= 1') in str(info.value)


def test_rescale_refuses_bad_epoch_values_and_keeps_none():
    from mmengine.config import Config
    from shike_mm.engine.stages import rescale_schedule
    cfg = Config.fromfile(SHIKE_QUICK)
    cfg.model.head.loss.drw_epoch = None  # "no re-weighting" is accepted
    assert rescale_schedule(cfg, 10).custom_hooks[0].stages[0].begin == 7
    cfg.custom_hooks[0].stages[0].begin = 2.5
    with pytest.raises(ValueError, match=r"StageSwitchHook stage 'retrain' "
                       r'begin=2\.5 \(custom_hooks\.0\.stages\.0\.begin\)'):
        rescale_schedule(cfg, 10)
