# Copyright (c) shike-mm contributors. All rights reserved.
"""Build every dataset base config's train / val datasets on generated
data (data_root redirected through the loaded Config)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, METRICS

import shike_mm  # noqa: F401
from shike_mm.datasets import get_class_counts
from tests.helpers.commands import REPO_ROOT
from tests.helpers.generators import (redirect_data_root, write_cifar,
                                      write_fashion_mnist_idx,
                                      write_list_dataset)

CONFIG_DIR = osp.join(str(REPO_ROOT), 'configs', '_base_', 'datasets')

LIST_CONFIGS = {
    'imagenet-lt.py': ('ImageNet_LT_train.txt', 'ImageNet_LT_val.txt',
                       'ImageNet_LT_test.txt', 1000),
    'inat2018.py': ('iNaturalist18_train.txt', 'iNaturalist18_val.txt',
                    None, 8142),
    'places-lt.py': ('Places_LT_train.txt', 'Places_LT_val.txt',
                     'Places_LT_test.txt', 365),
}

CIFAR_CONFIGS = {
    # name: (variant, num classes, images per class, imbalance factor)
    'cifar100-lt-r100.py': ('cifar100', 100, 100, 100),
    'cifar100-lt-r50.py': ('cifar100', 100, 100, 50),
    'cifar10-lt-r100.py': ('cifar10', 10, 100, 100),
}


def _check_common(cfg, num_classes):
    for key in ('dataset_type', 'data_preprocessor', 'train_pipeline',
                'test_pipeline', 'train_dataloader', 'val_dataloader',
                'test_dataloader', 'val_evaluator', 'test_evaluator'):
        assert key in cfg, key
    assert cfg.data_preprocessor.num_classes == num_classes
    assert cfg.val_evaluator.type == 'LongTailAccuracy'
    assert cfg.test_evaluator.type == 'LongTailAccuracy'
    METRICS.build(cfg.val_evaluator)


def _fetch(dataset):
    packed = dataset[0]
    assert packed['inputs'].ndim == 3
    return packed


@pytest.mark.parametrize('name', sorted(CIFAR_CONFIGS))
def test_cifar_configs(name, tmp_path):
    variant, num_classes, per_class, imbalance = CIFAR_CONFIGS[name]
    root = write_cifar(
        str(tmp_path), num_classes, per_class, 2, variant=variant)
    cfg = redirect_data_root(Config.fromfile(osp.join(CONFIG_DIR, name)),
                             root)
    _check_common(cfg, num_classes)
    assert cfg.train_dataloader.batch_size == 128
    assert cfg.train_dataloader.dataset.imbalance_factor == imbalance
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert get_class_counts(train) == [
        int(per_class * (1 / imbalance)**(c / (num_classes - 1)))
        for c in range(num_classes)
    ]
    assert _fetch(train)['inputs'].shape == (3, 32, 32)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 2 * num_classes
    assert _fetch(val)['inputs'].shape == (3, 32, 32)


def test_fashion_mnist_config(tmp_path):
    root = write_fashion_mnist_idx(str(tmp_path), 100, 2)
    cfg = redirect_data_root(
        Config.fromfile(osp.join(CONFIG_DIR, 'fashion-mnist-lt-r100.py')),
        root)
    _check_common(cfg, 10)
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert train.class_counts[-1] == 1 and train.class_counts[0] == 100
    assert _fetch(train)['inputs'].shape == (3, 28, 28)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 20 and _fetch(val)['inputs'].shape == (3, 28, 28)


@pytest.mark.parametrize('name', sorted(LIST_CONFIGS))
def test_list_configs(name, tmp_path):
    train_ann, val_ann, test_ann, num_classes = LIST_CONFIGS[name]
    root = str(tmp_path)
    write_list_dataset(root, train_ann, [3, 2, 1], (40, 48), 'train')
    write_list_dataset(root, val_ann, [1, 1, 1], (40, 48), 'val', seed=1)
    if test_ann:
        write_list_dataset(root, test_ann, [1, 1], (40, 48), 'test', seed=2)
    cfg = redirect_data_root(Config.fromfile(osp.join(CONFIG_DIR, name)),
                             root)
    _check_common(cfg, num_classes)
    assert cfg.train_dataloader.dataset.ann_file == train_ann
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert get_class_counts(train) == [3, 2, 1] + [0] * (num_classes - 3)
    assert _fetch(train)['inputs'].shape == (3, 224, 224)
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 3 and _fetch(val)['inputs'].shape == (3, 224, 224)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert len(test) == (2 if test_ann else 3)
