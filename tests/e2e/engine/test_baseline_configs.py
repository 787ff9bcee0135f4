# Copyright (c) shike-mm contributors. All rights reserved.
"""Every baseline config of configs/baselines/ trains through the runner on
generated files in the real formats (one iteration per epoch: a training set
of a single batch), validates, and its schedule is the published one."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook

from tests.helpers.commands import REPO_ROOT, load_checkpoint
from tests.helpers.generators import (redirect_data_root, write_cifar,
                                      write_fashion_mnist_idx)

CONFIGS = sorted(
    str(p.relative_to(REPO_ROOT))
    for p in (REPO_ROOT / 'configs/baselines').glob('*_r32_*.py'))
METHODS = ('ce', 'focal', 'bsce', 'la', 'posthoc-la', 'ldam-drw', 'crt')
DATASETS = ('cifar100-lt-r100', 'fashion-mnist-lt-r100-1k_20e')


def test_every_method_has_both_configs():
    names = {Path(c).stem for c in CONFIGS}
    # + the 200-epoch counterparts of the SHIKE budget study
    long_budget = {f'{m}_r32_fashion-mnist-lt-r100-1k_200e'
                   for m in ('ce', 'bsce')}
    # + SHIKE's augmentation for the methods whose own recipe differs, and
    # balanced softmax at the other baselines' 200 epochs / batch 128
    shike_aug = {f'{m}_r32_shike-aug_cifar100-lt-r100'
                 for m in METHODS if m != 'bsce'}
    assert names == ({f'{m}_r32_{d}' for m in METHODS for d in DATASETS}
                     | long_budget | shike_aug
                     | {'bsce_r32_1xb128-200e_cifar100-lt-r100'})
    assert not list((REPO_ROOT / 'configs/baselines').glob('resnet28-*'))


def _needs(cfg):
    """Reason to skip a config whose components are not registered yet."""
    from mmpretrain.registry import MODELS

    import shike_mm  # noqa: F401
    from shike_mm.engine.stages import STAGE_DEFAULTS
    if 'LDAMLoss' in str(cfg.model) and 'LDAMLoss' not in MODELS.module_dict:
        return 'needs LDAMLoss (not registered in this checkout)'
    for hook in cfg.get('custom_hooks', []):
        if hook['type'] == 'StageSwitchHook':
            missing = [
                k for s in hook['stages'] for k in s
                if k not in ('name', 'begin', *STAGE_DEFAULTS)
            ]
            if missing:
                return f'needs StageSwitchHook stage fields {missing}'
    return None


@pytest.fixture(scope='module')
def data_roots(tmp_path_factory):
    base = tmp_path_factory.mktemp('data')
    return {
        'OfflineCIFAR100':
        write_cifar(str(base / 'c100'), num_classes=100, per_class=2,
                    test_per_class=1),
        'FashionMNISTIDX':
        write_fashion_mnist_idx(str(base / 'fm'), per_class=2,
                                test_per_class=2),
    }


def _tiny_cfg(config, data_roots, work_dir):
    from shike_mm.engine.stages import resolve_stage_schedule
    cfg = resolve_stage_schedule(Config.fromfile(str(REPO_ROOT / config)))
    inner = cfg.train_dataloader.dataset.dataset
    redirect_data_root(cfg, data_roots[inner.type])
    # 2, 1, 1, ..., 1 images per class: one batch, one iteration per epoch
    cfg.train_dataloader.dataset.max_per_class = 2
    cfg.train_dataloader.dataset.imbalance_factor = 2
    for split in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[split].num_workers = 0
        cfg[split].persistent_workers = False
    cfg.work_dir = str(work_dir)
    # the 200-epoch configs compile their step: minutes of Inductor for one
    # iteration; the compiled step is checked in
    # tests/integration/models/test_compiled_step.py
    cfg.compile = False
    cfg.default_hooks.checkpoint.interval = 1
    cfg.default_hooks.checkpoint.save_best = None
    cfg.default_hooks.checkpoint.max_keep_ckpts = -1
    cfg.default_hooks.logger.interval = 1
    cfg.train_cfg.val_interval = 1
    hooks = {h['type']: h for h in cfg.get('custom_hooks', [])}
    if 'StageSwitchHook' in hooks:
        # two epochs, the boundary between them; every scheduler keeps its
        # side of the boundary
        stage = hooks['StageSwitchHook']['stages'][0]
        old, stage['begin'] = stage['begin'], 1
        for sched in cfg.param_scheduler:
            sched['begin'] = 0 if sched['begin'] < old else 1
            sched['end'] = 1 if sched['end'] <= old else 2
        cfg.train_cfg.max_epochs = 2
    else:
        cfg.train_cfg.max_epochs = 1
    return cfg


@pytest.mark.parametrize('config', CONFIGS)
def test_baseline_config_trains_and_validates(config, data_roots, tmp_path):
    from mmengine.runner import Runner
    from mmpretrain.registry import RUNNERS

    import shike_mm  # noqa: F401

    cfg = _tiny_cfg(config, data_roots, tmp_path)
    reason = _needs(cfg)
    if reason:
        pytest.skip(reason)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else \
        Runner.from_cfg(cfg)
    runner.train()
    hub = runner.message_hub
    loss = hub.get_scalar('train/loss').current()
    assert math.isfinite(loss) and loss > 0
    assert 0 <= hub.get_scalar('val/accuracy/top1').current() <= 100
    model = runner.model.module if hasattr(runner.model, 'module') else \
        runner.model
    # ClassCountsHook reached every component that needs the counts
    for name, module in model.named_modules():
        if hasattr(module, 'set_class_counts') and hasattr(
                module, 'log_prior'):
            assert module.log_prior is not None, name
    if 'crt' in config:
        first = load_checkpoint(tmp_path / 'epoch_1.pth')['state_dict']
        second = load_checkpoint(tmp_path / 'epoch_2.pth')['state_dict']
        for key, value in first.items():
            if key.startswith('head.'):
                assert not torch.equal(value, second[key]), key
            elif key.startswith('backbone.') and not key.endswith(
                    ('running_mean', 'running_var', 'num_batches_tracked')):
                assert torch.equal(value, second[key]), key


def _epoch_lrs(cfg, epochs):
    from mmengine.optim import build_optim_wrapper
    from mmpretrain.registry import PARAM_SCHEDULERS

    import shike_mm  # noqa: F401
    from shike_mm.engine.stages import resolve_stage_schedule
    cfg = resolve_stage_schedule(cfg)
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)
    schedulers = [
        PARAM_SCHEDULERS.build(dict(s, optimizer=wrapper))
        for s in cfg.param_scheduler
    ]
    lrs = []
    for _ in range(epochs):
        lrs.append(wrapper.param_groups[0]['lr'])
        for scheduler in schedulers:
            scheduler.step()
    return lrs


def ldam_reference_lr(epoch, base=0.1):
    """adjust_learning_rate of github.com/kaidic/LDAM-DRW (cifar_train.py),
    epoch 0-based."""
    epoch = epoch + 1
    if epoch <= 5:
        return base * epoch / 5
    if epoch > 180:
        return base * 0.0001
    if epoch > 160:
        return base * 0.01
    return base


@pytest.mark.parametrize('method', ['ce', 'focal', 'la', 'posthoc-la',
                                    'ldam-drw', 'crt'])
def test_cifar_step_schedule_is_ldam_drw(method):
    cfg = Config.fromfile(
        str(REPO_ROOT / f'configs/baselines/{method}_r32_cifar100-lt-r100.py'))
    assert cfg.optim_wrapper.optimizer.weight_decay == 2e-4
    assert cfg.optim_wrapper.optimizer.momentum == 0.9
    assert cfg.train_dataloader.batch_size == 128
    epochs = 210 if method == 'crt' else 200
    assert cfg.train_cfg.max_epochs == epochs
    lrs = _epoch_lrs(cfg, epochs)
    for epoch in range(200):
        assert lrs[epoch] == pytest.approx(ldam_reference_lr(epoch),
                                           rel=1e-9), epoch
    if method == 'crt':
        # restart at exactly the boundary, 0.05 then a cosine over 10 epochs
        for epoch in range(200, 210):
            expected = 0.05 * (1 + math.cos(math.pi * (epoch - 200) / 10)) / 2
            assert lrs[epoch] == pytest.approx(expected, rel=1e-9), epoch
        hook = cfg.custom_hooks[0]
        assert hook.type == 'StageSwitchHook'
        assert hook.stages[0].begin == 200
        assert hook.stages[0].sampler == dict(type='ClassAwareSampler')
        assert cfg.find_unused_parameters


def test_bsce_cosine_schedule():
    cfg = Config.fromfile(
        str(REPO_ROOT /
            'configs/baselines/bsce_r32_1xb128-200e_cifar100-lt-r100.py'))
    assert cfg.optim_wrapper.optimizer.weight_decay == 5e-4
    lrs = _epoch_lrs(cfg, 200)
    for epoch, lr in enumerate(lrs):
        expected = 0.1 * (epoch + 1) / 5 if epoch < 5 else \
            0.1 * (1 + math.cos(math.pi * (epoch - 4) / 196)) / 2
        assert lr == pytest.approx(expected, rel=1e-9), epoch


def test_quickstart_schedules_share_one_shape():
    """Every single-stage quickstart baseline: warm-up from lr / 3 over
    epochs 0-2, one cosine to epoch 20; cRT: the same to epoch 16, then a
    restart at half the base lr."""
    lrs = {}
    for method in METHODS:
        cfg = Config.fromfile(str(
            REPO_ROOT /
            f'configs/baselines/{method}_r32_fashion-mnist-lt-r100-1k_20e.py'))
        assert cfg.train_cfg.max_epochs == 20
        assert cfg.train_dataloader.dataset.max_per_class == 1000
        assert cfg.optim_wrapper.optimizer.lr == 0.05
        lrs[method] = _epoch_lrs(cfg, 20)
    for epoch in range(20):
        expected = 0.05 / 3 * (epoch + 1) if epoch < 3 else \
            0.05 * (1 + math.cos(math.pi * (epoch - 2) / 18)) / 2
        for method in METHODS:
            if method != 'crt':
                assert lrs[method][epoch] == pytest.approx(expected), method
    crt = lrs['crt']
    for epoch in range(3, 16):
        assert crt[epoch] == pytest.approx(
            0.05 * (1 + math.cos(math.pi * (epoch - 2) / 14)) / 2)
    assert crt[16] == pytest.approx(0.025)
    assert crt[19] == pytest.approx(
        0.025 * (1 + math.cos(math.pi * 3 / 4)) / 2)


class _RecordDRW(Hook):
    """Records, per training iteration, the epoch, whether the LDAM loss
    re-weights and the loss value."""

    priority = 'LOWEST'

    def __init__(self):
        self.rows = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        loss_module = runner.model.head.loss_module
        self.rows.append([runner.epoch, loss_module.drw_active()])

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        self.rows[-1].append(float(outputs['loss']))


def test_ldam_drw_switches_at_its_epoch_also_after_resume(
        data_roots, tmp_path):
    """LDAM-DRW gets the epoch from EpochAwareHook: re-weighting starts at
    ``drw_epoch`` in an uninterrupted run, and a run resumed from the
    checkpoint before that epoch re-weights from the same epoch and gives
    the same loss."""
    from mmengine.runner import Runner

    import shike_mm  # noqa: F401

    def build(work_dir, **extra):
        cfg = _tiny_cfg('configs/baselines/ldam-drw_r32_fashion-mnist-lt-'
                        'r100-1k_20e.py', data_roots, work_dir)
        cfg.model.head.loss.drw_epoch = 2
        cfg.train_cfg.max_epochs = 3
        cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, begin=0,
                                    end=3, by_epoch=True)]
        cfg.merge_from_dict(extra)
        runner = Runner.from_cfg(cfg)
        recorder = _RecordDRW()
        runner.register_hook(recorder)
        return runner, recorder

    runner, whole = build(tmp_path / 'whole', experiment_name='drw_whole')
    runner.train()
    assert [row[:2] for row in whole.rows] == [[0, False], [1, False],
                                               [2, True]]

    runner, resumed = build(
        tmp_path / 'resumed',
        experiment_name='drw_resumed',
        resume=True,
        load_from=str(tmp_path / 'whole' / 'epoch_2.pth'))
    runner.train()
    assert [row[:2] for row in resumed.rows] == [[2, True]]
    assert resumed.rows[0][2] == pytest.approx(whole.rows[2][2], abs=1e-6)
