# Copyright (c) shike-mm contributors. All rights reserved.
"""Corrupt data files and wrong loss settings give errors naming the file,
field and value, in the components and in the refusals of
``tools/train.py`` (run in this process, ``main(argv)``; each is refused
before the first step, in about a second)."""
import gzip
import os

import pytest
import torch

from mmpretrain.registry import MODELS
from shike_mm.datasets import FashionMNISTIDX
from tests.helpers.generators import write_fashion_mnist_idx
from tests.helpers.inprocess_tools import run_train
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


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


# tools/train.py, in this process
def test_unknown_top_level_cfg_option_suggests_nearest(tmp_path, tiny_root):
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path, '--cfg-options',
                     *tiny_data_options(tiny_root), 'traincfg.max_epochs=2'])
    assert run.raised(ValueError), run
    assert ("ValueError: --cfg-options traincfg.max_epochs: the config has "
            "no top-level entry 'traincfg'; did you mean 'train_cfg' "
            '(train_cfg.max_epochs)?') in run.message
    assert 'Epoch(train)' not in run.output


def test_num_experts_fraction_named_by_train_tool(tmp_path):
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--cfg-options',
                     'model.backbone.num_experts=2.5'])
    assert run.exit_code != 0, run
    assert ('SHIKEResNet: num_experts=2.5 (model.backbone.num_experts in a '
            'config) is not valid: it must be a whole number >= 1'
            ) in run.message, run
    assert 'cannot be interpreted as an integer' not in run.shown


@pytest.mark.parametrize('option,named', [
    ('custom_hooks.0.stages.0.begin=-1', "StageSwitchHook stage 'retrain' "
     'begin=-1 (custom_hooks.0.stages.0.begin)'),
])
def test_negative_stage_begin_with_epochs_names_the_field(
        tmp_path, option, named):
    """It used to be mapped as an epoch boundary: 'cannot rescale a
    20-epoch schedule to 4 epochs' (with --epochs 10 it silently became
    epoch 0)."""
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--epochs', '4',
                     '--cfg-options', option])
    assert run.raised(ValueError), run
    assert (f'ValueError: {named} is not valid: it must be a whole number '
            '>= 0 (a 0-based epoch index, below train_cfg.max_epochs=20 to '
            'take effect)') in run.message
    assert 'cannot rescale' not in run.shown


def test_boundary_variable_is_gone(tmp_path):
    """The stage boundary is the hook's stage ``begin`` only: the former
    config variable is an unknown entry, refused by name."""
    run = run_train([SHIKE_QUICK, '--work-dir', tmp_path, '--cfg-options',
                     'cornerstone=5'])
    assert run.exit_code != 0, run
    assert ("--cfg-options cornerstone: the config has no top-level entry "
            "'cornerstone'") in run.message, run
