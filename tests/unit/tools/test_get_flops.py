# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py takes the input size from the config:
the test pipeline's crop or resize, else the dataset's native image size;
``--shape`` overrides it. The cases that start a process or compile are in
tests/integration/tools/test_get_flops.py."""

import pytest
from mmengine.config import Config

from tests.helpers.commands import REPO_ROOT
from tests.helpers.tool_modules import load_tool

QUICKSTART = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'

flops = load_tool('get_flops')


def size_of(config):
    return flops.input_size_from_config(
        Config.fromfile(str(REPO_ROOT / config)))[0]


@pytest.mark.parametrize('config,size', [
    (QUICKSTART, (28, 28)),
    ('configs/ride/ride_r32-3e_fashion-mnist-lt-r100-1k_20e.py', (28, 28)),
    ('configs/shike/shike_r32_cifar100-lt-r100.py', (32, 32)),
    ('configs/shike/shike_r32_cifar10-lt-r100.py', (32, 32)),
    ('configs/shike/shike_r50_imagenet-lt.py', (224, 224)),
    ('configs/shike/shike_r152_places-lt.py', (224, 224)),
    ('configs/ride/ride_r50-3e_inat2018.py', (224, 224)),
])
def test_input_size_of_the_configs(config, size):
    assert size_of(config) == size


def test_pipeline_sizes_follow_each_transform_convention():
    size = flops.pipeline_size
    # ImageNet-LT's test pipeline: short edge to 256, crop 224
    assert size([dict(type='ResizeEdge', scale=256, edge='short'),
                 dict(type='CenterCrop', crop_size=224)]) == (224, 224)
    # ResizeEdge alone on a known size keeps the aspect ratio
    assert size([dict(type='ResizeEdge', scale=64, edge='short')],
                 (32, 48)) == (64, 96)
    # mmcv's Resize and CenterCrop take (w, h); mmpretrain's crops (h, w)
    assert size([dict(type='Resize', scale=(40, 30))]) == (30, 40)
    assert size([dict(type='CenterCrop', crop_size=(40, 30))]) == (30, 40)
    assert size([dict(type='RandomResizedCrop', scale=(30, 40))]) == (30, 40)
    assert size([dict(type='Resize', scale_factor=2.0)], (28, 28)) == (56, 56)
    # PackInputs keeps the size; nothing known stays unknown
    assert size([dict(type='PackInputs')], (28, 28)) == (28, 28)
    assert size([dict(type='PackInputs')]) is None


def test_a_config_without_data_needs_shape():
    cfg = Config.fromfile(
        str(REPO_ROOT / 'configs/_base_/models/shike_r32_cifar.py'))
    with pytest.raises(ValueError, match='pass --shape'):
        flops.input_size_from_config(cfg)
