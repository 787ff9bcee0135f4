# Copyright (c) shike-mm contributors. All rights reserved.
"""The SADE configs: the public recipe's numbers, the model they build and
the CIFAR schedule's learning rate per epoch against the public CustomLR."""
import pytest
import torch
from mmengine.optim.scheduler import LinearLR, MultiStepLR

from projects.sade.tests.sade_test_utils import build_model, load_config


def test_cifar_recipe():
    cfg = load_config('sade_r32-3e_cifar100-lt-r100.py')
    assert cfg.custom_imports.imports == ['shike_mm', 'projects.sade.sade']
    assert cfg.model.backbone == dict(type='RIDEResNet', depth=32,
                                      num_experts=3, reduce_dimension=True)
    assert cfg.model.head.loss == dict(type='DiverseExpertLoss', tau=2.0)
    assert cfg.model.head.fusion == dict(type='SADEFusion')
    assert cfg.model.head.classifier == dict(type='CosineClassifier',
                                             scale=30.0)
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True)
    assert cfg.train_cfg.max_epochs == 200
    assert cfg.train_dataloader.batch_size == 128
    types = [t['type'] for t in cfg.train_dataloader.dataset.dataset.pipeline]
    assert types == ['RandomCrop', 'RandomFlip', 'NumpyToPIL',
                     'torchvision/RandomRotation', 'PILToNumpy',
                     'PackInputs']
    tta = cfg.test_time_aggregation
    assert (tta.batch_size, tta.epochs, tta.stop_below) == (128, 5, 0.05)
    assert tta.optimizer == dict(type='SGD', lr=0.1, momentum=0.9,
                                 nesterov=True, weight_decay=5e-4)


def lrs(cfg, epochs):
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=cfg.optim_wrapper.optimizer.lr)
    schedulers = []
    for s in cfg.param_scheduler:
        s = dict(s)
        kind = s.pop('type')
        cls = {'LinearLR': LinearLR, 'MultiStepLR': MultiStepLR}[kind]
        schedulers.append(cls(opt, **s))
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]['lr'])
        opt.step()
        for s in schedulers:
            s.step()
    return out


def public_custom_lr(epoch, base=0.1, step1=160, step2=180, gamma=0.1,
                     warmup=5):
    """The public train.py's CustomLR lambda, restated."""
    factor = gamma * gamma if epoch >= step2 else (
        gamma if epoch >= step1 else 1)
    if epoch < warmup:
        factor = factor * (1 + epoch) / warmup
    return base * factor


def test_cifar_schedule_equals_public_custom_lr():
    cfg = load_config('sade_r32-3e_cifar100-lt-r100.py')
    got = lrs(cfg, 200)
    expected = [public_custom_lr(e) for e in range(200)]
    assert got == pytest.approx(expected, rel=1e-9)


def test_imagenet_recipe():
    cfg = load_config('sade_rx50-3e_imagenet-lt.py')
    assert cfg.model.backbone.depth == 50
    assert (cfg.model.backbone.groups, cfg.model.backbone.width_per_group,
            cfg.model.backbone.reduce_dimension) == (32, 4, True)
    assert cfg.model.head.in_channels == 1536
    assert cfg.model.head.num_classes == 1000
    assert cfg.optim_wrapper.optimizer.lr == 0.025
    assert cfg.param_scheduler == [
        dict(type='CosineAnnealingLR', T_max=180, eta_min=0, begin=0,
             end=180, by_epoch=True)
    ]
    assert cfg.train_cfg.max_epochs == 180
    assert cfg.auto_scale_lr.base_batch_size == 64
    assert cfg.test_time_aggregation.optimizer.lr == 0.025


def test_fashion_quickstart_budget():
    cfg = load_config('sade_r32-3e_fashion-mnist-lt-r100-1k_20e.py')
    assert cfg.train_cfg.max_epochs == 20
    assert cfg.model.head.num_classes == 10
    assert cfg.model.head.loss == dict(type='DiverseExpertLoss', tau=2.0)
    assert cfg.param_scheduler[1].gamma == 0.1
    assert cfg.train_dataloader.dataset.max_per_class == 1000
    crop = cfg.test_time_aggregation.pipeline[0]
    assert crop == dict(type='RandomCrop', crop_size=28, padding=4,
                        pad_val=0)


def test_fashion_model_builds_and_predicts():
    cfg = load_config('sade_r32-3e_fashion-mnist-lt-r100-1k_20e.py')
    model = build_model(cfg.model).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.randn(2, 3, 28, 28))
        out = model.head(feats)
    assert out.shape == (2, 10)
