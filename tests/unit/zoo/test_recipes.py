# Copyright (c) shike-mm contributors. All rights reserved.
"""Every RIDE and baseline config on CIFAR-100-LT and ImageNet-LT trains
with the recipe of the public code its zoo row cites (tests/unit/zoo/
recipes.py, transcribed from that code): the training and test transforms
built from the resolved config against the reference's torchvision
transforms, the normalisation, the batch, the optimizer and the LR of
every epoch; and the zoo row names that code."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from torchvision import transforms as T

from tests.helpers.commands import REPO_ROOT
from tests.helpers.zoo_recipes import AUTO_AUGMENT, RECIPES

ZOO_FOLDERS = ('configs/ride', 'configs/baselines')


def canonical_reference(t):
    """A reference transform as a comparable tuple."""
    if isinstance(t, tuple):  # a transform of the reference repository
        return t
    if isinstance(t, T.RandomCrop):
        return ('crop', tuple(t.size), t.padding, t.fill, t.padding_mode)
    if isinstance(t, T.RandomHorizontalFlip):
        return ('hflip', t.p)
    if isinstance(t, T.RandomRotation):
        return ('rotate', tuple(t.degrees), str(t.interpolation.value),
                t.fill or 0, t.expand, t.center)
    if isinstance(t, T.ColorJitter):
        return ('jitter', t.brightness, t.contrast, t.saturation, t.hue)
    if isinstance(t, T.RandomResizedCrop):
        return ('rrc', tuple(t.size), tuple(t.scale),
                tuple(round(r, 6) for r in t.ratio),
                str(t.interpolation.value))
    if isinstance(t, T.Resize):  # an int: the short edge
        return ('short_edge', t.size, str(t.interpolation.value))
    if isinstance(t, T.CenterCrop):
        return ('center_crop', tuple(t.size))
    raise TypeError(f'no canonical form for {t!r}')


def canonical_built(t):
    """A transform built from a resolved config as a comparable tuple;
    None for those that only change the image's container."""
    name = type(t).__name__
    if name in ('NumpyToPIL', 'PILToNumpy', 'PackInputs',
                'LoadImageFromFileBounded'):
        assert getattr(t, 'to_rgb', False) is False
        assert getattr(t, 'to_bgr', False) is False
        return None
    if name == 'TorchVisonTransformWrapper':
        return canonical_reference(t.t)
    if name == 'RandomCrop':
        assert not t.pad_if_needed
        return ('crop', t.crop_size, t.padding, t.pad_val, t.padding_mode)
    if name == 'RandomFlip':
        assert t.direction == 'horizontal'
        return ('hflip', t.prob)
    if name == 'ColorJitter':
        return ('jitter', t.brightness, t.contrast, t.saturation, t.hue)
    if name == 'RandomResizedCrop':
        return ('rrc', t.scale, t.crop_ratio_range,
                tuple(round(r, 6) for r in t.aspect_ratio_range),
                t.interpolation)
    if name == 'ResizeEdge':
        assert t.edge == 'short'
        return ('short_edge', t.scale, t.interpolation)
    if name == 'CenterCrop':
        return ('center_crop', t.crop_size)
    if name == 'CIFAR10AutoAugment':
        return AUTO_AUGMENT
    if name == 'RandomCutout':
        assert t.size[0] == t.size[1] and t.prob == 1.0 and t.pad_val == 0
        return ('Cutout', t.num_holes, t.size[0])
    raise TypeError(f'no canonical form for {name}')


def innermost(dataset_cfg):
    while 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg['dataset']
    return dataset_cfg


def built(pipeline):
    import shike_mm  # noqa: F401
    from mmpretrain.registry import TRANSFORMS
    forms = [canonical_built(TRANSFORMS.build(t)) for t in pipeline]
    return [f for f in forms if f is not None]


def epoch_lrs(cfg, epochs):
    import shike_mm  # noqa: F401
    from mmpretrain.registry import PARAM_SCHEDULERS

    from shike_mm.engine.stages import resolve_stage_schedule
    cfg = resolve_stage_schedule(cfg)
    optim_wrapper = build_optim_wrapper(torch.nn.Linear(2, 2),
                                        cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=optim_wrapper))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(epochs):
        lrs.append(optim_wrapper.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def test_every_cifar100_and_imagenet_lt_config_has_a_recipe():
    configs = {
        str(p.relative_to(REPO_ROOT))
        for folder in ZOO_FOLDERS
        for p in (REPO_ROOT / folder).glob('*.py')
        if '_cifar100-lt-' in p.name or '_imagenet-lt' in p.name
    }
    assert configs == set(RECIPES)


@pytest.mark.parametrize('config', sorted(RECIPES))
def test_training_recipe_is_the_cited_code(config):
    recipe = RECIPES[config]
    cfg = Config.fromfile(str(REPO_ROOT / config))
    train = innermost(cfg.train_dataloader.dataset)
    assert built(train.pipeline) == [
        canonical_reference(t) for t in recipe['train']]
    for key in ('val_dataloader', 'test_dataloader'):
        assert built(innermost(cfg[key].dataset).pipeline) == [
            canonical_reference(t) for t in recipe['test']]
    pre = cfg.data_preprocessor
    assert [m / 255 for m in pre.mean] == pytest.approx(recipe['mean'])
    assert [s / 255 for s in pre.std] == pytest.approx(recipe['std'])
    # the reference's batch: one process here, or the GPUs the config's
    # auto_scale_lr names (ImageNet-LT: 4 x 64)
    assert cfg.auto_scale_lr.base_batch_size == recipe['batch']
    assert recipe['batch'] % cfg.train_dataloader.batch_size == 0
    optimizer = cfg.optim_wrapper.optimizer
    assert optimizer.type == 'SGD'
    for key, value in recipe['optimizer'].items():
        assert optimizer.get(key, False) == value, key
    epochs = recipe['epochs']
    # cRT's classifier retraining and RIDE's router stage follow the
    # recipe's epochs
    extra = {'crt': 10, 'router': 5}
    extra = sum(v for k, v in extra.items() if k in Path(config).name)
    assert cfg.train_cfg.max_epochs == epochs + extra
    lrs = epoch_lrs(cfg, epochs)
    for epoch, lr in enumerate(lrs):
        assert lr == pytest.approx(recipe['lr'](epoch), rel=1e-9,
                                   abs=1e-12), epoch


@pytest.mark.parametrize('config', sorted(RECIPES))
def test_zoo_row_cites_the_recipe_source(config):
    readme = (REPO_ROOT / Path(config).parent / 'README.md').read_text()
    rows = [line for line in readme.splitlines()
            if line.startswith('|') and f'({Path(config).name})' in line]
    assert len(rows) == 1, (config, rows)
    assert RECIPES[config]['source'] in rows[0]


ALL_CONFIGS = sorted(
    str(p.relative_to(REPO_ROOT))
    for folder in ('configs/shike', 'configs/ride', 'configs/baselines')
    for p in (REPO_ROOT / folder).rglob('*.py'))


@pytest.mark.parametrize('config', ALL_CONFIGS)
def test_val_and_test_sets_are_built_in_test_mode(config):
    cfg = Config.fromfile(str(REPO_ROOT / config))
    assert not innermost(cfg.train_dataloader.dataset).get('test_mode')
    for key in ('val_dataloader', 'test_dataloader'):
        assert innermost(cfg[key].dataset).test_mode is True, key
