# Copyright (c) shike-mm contributors. All rights reserved.
import pytest
import torch

from tests.conftest import REPO_ROOT, check_command
from tests.test_tools.tiny_image_folder import write_image_folder

TINY_CONFIG = REPO_ROOT / 'tests/data/configs/tiny_resnet_cifar.py'


def tiny_data_options(root):
    return [f'{k}={root}' for k in (
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')]


def load(path):
    import shike_mm  # noqa: F401
    return torch.load(path, map_location='cpu', weights_only=True)


@pytest.fixture(scope='package')
def tiny_root(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp('tiny'))


@pytest.fixture(scope='package')
def tiny_run(tmp_path_factory, tiny_root):
    """Work dir of a 1-epoch run of the tiny config (epoch_1.pth)."""
    import sys
    work = tmp_path_factory.mktemp('tiny_run')
    check_command([sys.executable, 'tools/train.py', TINY_CONFIG,
                   '--work-dir', work, '--cfg-options',
                   *tiny_data_options(tiny_root), 'train_cfg.max_epochs=1'])
    return work
