# Copyright (c) shike-mm contributors. All rights reserved.
"""Every SHIKE, RIDE and baseline config builds: its model (forward on a
tiny batch, then one training step on two images of its own training
pipeline, in every stage the config has), its training and test datasets
on generated files in the real formats, and its LR schedulers."""
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from tests.helpers.commands import REPO_ROOT
from tests.helpers.generators import (redirect_data_root, write_cifar,
                                      write_fashion_mnist_idx,
                                      write_list_dataset)

CONFIGS = sorted(
    str(p.relative_to(REPO_ROOT))
    for folder in ('configs/shike', 'configs/ride', 'configs/baselines')
    for p in (REPO_ROOT / folder).rglob('*.py'))

LIST_FILES = {
    'ImageNetLT': ('ImageNet_LT_train.txt', 'ImageNet_LT_val.txt',
                   'ImageNet_LT_test.txt'),
    'INaturalist2018': ('iNaturalist18_train.txt', 'iNaturalist18_val.txt'),
    'PlacesLT': ('Places_LT_train.txt', 'Places_LT_val.txt',
                 'Places_LT_test.txt'),
}


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    """One generated root per dataset kind."""
    base = tmp_path_factory.mktemp('data')
    roots = {}
    roots['OfflineCIFAR100'] = write_cifar(
        str(base / 'c100'), num_classes=100, per_class=100, test_per_class=1)
    roots['OfflineCIFAR10'] = write_cifar(
        str(base / 'c10'), num_classes=10, per_class=100, test_per_class=1,
        variant='cifar10')
    roots['FashionMNISTIDX'] = write_fashion_mnist_idx(
        str(base / 'fm'), per_class=1000, test_per_class=1)
    for kind, names in LIST_FILES.items():
        root = base / kind
        for name in names:
            write_list_dataset(str(root), name, counts=[3, 2, 1],
                               image_size=(8, 8))
        roots[kind] = str(root)
    return roots


def dataset_kind(dataset_cfg):
    while dataset_cfg.get('dataset') is not None:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg['type']


def test_every_config_is_listed():
    names = {Path(c).name for c in CONFIGS}
    for expected in ('shike_r32_cifar100-lt-r100.py',
                     'shike_r32_cifar100-lt-r50.py',
                     'shike_r32_cifar10-lt-r100.py',
                     'shike_r50_imagenet-lt.py',
                     'shike_r50_imagenet-lt-400e.py',
                     'shike_rx50_imagenet-lt.py', 'shike_r50_inat2018.py',
                     'shike_r152_places-lt.py'):
        assert expected in names


def one_training_step(model, cfg, train_set):
    """One SGD step on two training images, in every mode of the head the
    config's stage hooks switch to; the loss is finite and every trainable
    parameter of the mode gets a gradient."""
    from mmengine.dataset import pseudo_collate

    from shike_mm.datasets import get_class_counts
    counts = get_class_counts(train_set)
    for module in model.modules():
        if callable(getattr(module, 'set_class_counts', None)):
            module.set_class_counts(counts)
    modes = [None] + [
        s.get('head_mode', 'retrain') for h in cfg.get('custom_hooks', [])
        if h['type'] == 'StageSwitchHook' for s in h['stages']
    ]
    batch = pseudo_collate([train_set[0], train_set[len(train_set) - 1]])
    model.train()
    for mode in modes:
        if mode is not None:
            model.head.set_mode(mode)
        data = model.data_preprocessor(batch, training=True)
        losses = model(**data, mode='loss')
        total = sum(v for k, v in losses.items() if k.startswith('loss'))
        assert torch.isfinite(total), (mode, losses)
        model.zero_grad()
        total.backward()
        if mode == 'router':
            assert all(p.grad is not None
                       for p in model.head.router.parameters())
            assert all(p.grad is None for n, p in model.named_parameters()
                       if not n.startswith('head.router'))


@pytest.mark.parametrize('config', CONFIGS)
def test_config_builds(config, data_roots):
    from mmpretrain.registry import DATASETS, MODELS, PARAM_SCHEDULERS

    import shike_mm  # noqa: F401
    from shike_mm.engine.stages import resolve_stage_schedule
    cfg = resolve_stage_schedule(Config.fromfile(str(REPO_ROOT / config)))

    kind = dataset_kind(cfg.train_dataloader.dataset)
    redirect_data_root(cfg, data_roots[kind])
    for split in ('train_dataloader', 'test_dataloader'):
        dataset = DATASETS.build(cfg[split].dataset)
        assert len(dataset) > 0, split
        assert dataset.metainfo['classes'], split
    train_set = DATASETS.build(cfg.train_dataloader.dataset)
    num_classes = cfg.model.head.num_classes
    assert len(train_set.metainfo['classes']) == num_classes
    assert cfg.data_preprocessor.num_classes == num_classes

    model_cfg = cfg.model
    model_cfg.setdefault('data_preprocessor', cfg.data_preprocessor)
    model = MODELS.build(model_cfg)  # no init_weights: nothing downloaded
    size = 28 if kind == 'FashionMNISTIDX' else 32
    model.eval()
    with torch.no_grad():
        logits = model(torch.rand(1, 3, size, size), mode='tensor')
    assert logits.shape == (1, num_classes)

    if kind in ('FashionMNISTIDX', 'OfflineCIFAR10', 'OfflineCIFAR100') \
            or not config.startswith('configs/shike/'):
        # (the ImageNet-scale SHIKE models, 224x224, are the slowest; their
        # components train in the CIFAR configs)
        one_training_step(model, cfg, train_set)

    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optim_wrapper))
        for s in cfg.param_scheduler
    ]
    assert schedulers
    assert cfg.default_hooks.class_counts.type == 'ClassCountsHook'
    assert cfg.default_hooks.epoch_seed.type == 'EpochSeedHook'
    hooks = {h['type']: h for h in cfg.get('custom_hooks', [])}
    if 'StageSwitchHook' in hooks:
        # The hook's own pre-training check: the schedule restarts exactly
        # at every stage's begin, which lies inside the run.
        from mmpretrain.registry import HOOKS
        hook = HOOKS.build(hooks['StageSwitchHook'])
        hook.check_schedule(
            SimpleNamespace(cfg=cfg, max_epochs=cfg.train_cfg.max_epochs))
        assert cfg.find_unused_parameters
