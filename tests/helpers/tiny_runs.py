# Copyright (c) shike-mm contributors. All rights reserved.
"""The tiny ResNet config (``tests/data/configs/tiny_resnet_cifar.py``) and
what the reliability and tool tests need around it."""
import torch

from tests.helpers.commands import REPO_ROOT

TINY_CONFIG = REPO_ROOT / 'tests/data/configs/tiny_resnet_cifar.py'


def tiny_data_options(root):
    """``--cfg-options`` pointing every split of the tiny config at
    ``root``."""
    return [f'{k}={root}' for k in (
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')]


def load(path):
    """A checkpoint as torch's default ``weights_only=True`` reads it."""
    import shike_mm  # noqa: F401  registers the allow-list
    return torch.load(path, map_location='cpu', weights_only=True)


def hooked_config(tmp_path, hook):
    """A config file in ``tmp_path``: the tiny config plus the custom hook
    ``hook`` (a dict literal) from ``tests/data/test_hooks.py``."""
    path = tmp_path / 'hooked.py'
    path.write_text(
        f"_base_ = [{str(TINY_CONFIG)!r}]\n"
        "custom_imports = dict(imports=['shike_mm', 'tests.data.test_hooks'],"
        " allow_failed_imports=False)\n"
        f"custom_hooks = [{hook}]\n")
    return path
