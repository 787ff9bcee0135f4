# Copyright (c) shike-mm contributors. All rights reserved.
"""RIDE and the router stage end to end through tools/train.py: the RIDE
quickstart config on Fashion-MNIST-LT, and SHIKE's router config (experts,
retraining, then only the router) on a tiny generated CIFAR-10."""
import json
import os
import re

import pytest
import torch

from tests.helpers.commands import REPO_ROOT, check_command
from tests.helpers.commands import load_checkpoint
from tests.helpers.generators import (write_cifar, write_fashion_mnist_idx)


RIDE_FM = (REPO_ROOT /
           'configs/ride/ride_r32-3e_fashion-mnist-lt-r100-1k_20e.py')
SHIKE_ROUTER = REPO_ROOT / 'configs/shike/shike_r32-router_cifar100-lt-r100.py'
DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist'


def scalars(work_dir):
    records = []
    for line in next(work_dir.glob('*/vis_data/scalars.json')).open():
        records.append(json.loads(line))
    return records


def test_ride_quickstart_config_trains(tmp_path_factory, tmp_path, python):
    if os.path.isfile(os.path.join(DEBIAN_ROOT, 'train-images-idx3-ubyte.gz')):
        root = DEBIAN_ROOT
    else:
        root = write_fashion_mnist_idx(
            str(tmp_path_factory.mktemp('fm')), per_class=100,
            test_per_class=5)
    run = check_command([
        python, 'tools/train.py', RIDE_FM, '--work-dir', tmp_path,
        '--epochs', '5', '--cfg-options',
        f'train_dataloader.dataset.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.dataset.max_per_class=200',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        'val_dataloader.dataset.indices=200',
        'default_hooks.logger.interval=1'
    ])
    # --epochs 5 maps the steps and re-weighting epoch 16 of 20 to 3.
    assert 'loss_ride' in run.stdout
    records = scalars(tmp_path)
    losses = [r['loss_ride'] for r in records if 'loss_ride' in r]
    assert len(losses) == 5 * 4  # 492 images, batch 128: 4 iterations
    assert all(map(lambda v: v == v, losses))  # no NaN
    assert sum(losses[:4]) > sum(losses[8:12])  # it learns (before DRW)
    # validated at the end (and at the --epochs-scaled interval)
    assert 'accuracy/few' in [r for r in records if 'accuracy/top1' in r][-1]


@pytest.fixture(scope='module')
def cifar10_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar10')
    write_cifar(str(root), num_classes=10, per_class=40, test_per_class=6,
                variant='cifar10')
    return root


def router_options(root):
    """Options that run SHIKE's router config on the tiny CIFAR-10."""
    return [
        # the CIFAR-100 config on a 10-class CIFAR-10 in the same layout
        'train_dataloader.dataset.dataset.type=OfflineCIFAR10',
        'val_dataloader.dataset.type=OfflineCIFAR10',
        'test_dataloader.dataset.type=OfflineCIFAR10',
        'data_preprocessor.num_classes=10', 'model.head.num_classes=10',
        f'train_dataloader.dataset.dataset.data_root={root}',
        'train_dataloader.dataset.dataset.verify_md5=False',
        'train_dataloader.dataset.imbalance_factor=10',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.verify_md5=False',
        f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.dataset.verify_md5=False',
        'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        'val_evaluator.topk=1',
        # 10 classes: the router reads the top 5 ensemble logits; pos_weight
        # 1 lets it learn to stop early (the default 100 favours going on)
        'model.head.router.top_k=5', 'model.head.router.pos_weight=1.0',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
        'compile=False',  # minutes of compilation per stage on a CPU
        # grouped execution (opt-in) as when the expectations below were
        # set: on this 8-epoch run the loop's other float32 rounding leads
        # to a router that always runs all three experts
        'model.backbone.grouped_experts=True',
    ]


@pytest.fixture(scope='module')
def router_run(tmp_path_factory, cifar10_root, python):
    """SHIKE's router config with --epochs 8 (9 distinct schedule
    boundaries in 8 epochs): experts 0-2, retraining 3-5, router 6-7
    (0-based). Returns the work dir and the run's output."""
    work_dir = tmp_path_factory.mktemp('router_run')
    run = check_command([
        python, 'tools/train.py', SHIKE_ROUTER, '--work-dir', work_dir,
        '--epochs', '8', '--cfg-options', *router_options(cifar10_root)
    ])
    return work_dir, run


def test_router_stage_on_shike_experts(router_run):
    tmp_path, run = router_run
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.stdout
    assert "entering stage 'router' at epoch 7 (begin 6)" in run.stdout
    assert "head mode 'router'" in run.stdout
    assert 'dataloader sampler ClassAwareSampler, batch 512' in run.stdout
    assert 'RoutingCostHook:' in run.stdout
    assert re.search(r'Epoch\(train\) +\[8\]\[1/1\].*loss_router',
                     run.stdout)

    before = load_checkpoint(tmp_path / 'epoch_6.pth')['state_dict']
    after = load_checkpoint(tmp_path / 'epoch_8.pth')['state_dict']
    assert not before['head.routing_flag'] and after['head.routing_flag']
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    # Only the router learns; BN statistics still update in train mode.
    assert changed and all(
        k.startswith('head.router.') or k.endswith(
            ('running_mean', 'running_var', 'num_batches_tracked',
             'routing_flag')) for k in changed), changed
    assert any(k.startswith('head.router.') for k in changed)

    last = [r for r in scalars(tmp_path) if 'accuracy/experts_used' in r]
    assert len(last) == 2  # only the routed evaluations report it
    used = last[-1]['accuracy/experts_used']
    assert 1.0 <= used < 3.0, used
    assert 0 < last[-1]['accuracy/relative_flops'] < 1.0


def test_fine_tuning_from_a_router_checkpoint_starts_in_stage_one(
        router_run, cifar10_root, tmp_path, python):
    """load_from the finished run (its head buffers say retraining and
    routing): the new run's first epoch trains the experts with the
    stage-1 losses, and the stages then follow the epoch again."""
    finished, _ = router_run
    checkpoint = load_checkpoint(finished / 'epoch_8.pth')['state_dict']
    assert checkpoint['head.retraining_flag'] and \
        checkpoint['head.routing_flag']
    run = check_command([
        python, 'tools/train.py', SHIKE_ROUTER, '--work-dir', tmp_path,
        '--epochs', '8', '--cfg-options', *router_options(cifar10_root),
        f'load_from={finished / "epoch_8.pth"}'
    ])
    assert "left the head in mode 'router'; it is set to 'experts'" in \
        run.stdout
    first = [r for r in scalars(tmp_path) if r.get('epoch') == 1]
    assert first and all(
        {'loss_ce', 'loss_dkt', 'loss_mutual'} <= set(r) and
        'loss_bsce' not in r and 'loss_router' not in r for r in first)
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.stdout
    assert re.search(r'Epoch\(train\) +\[8\]\[1/1\].*loss_router',
                     run.stdout)


RIDE_ROUTER = REPO_ROOT / 'configs/ride/ride_r32-3e-router_cifar100-lt-r100.py'


def test_fine_tuning_from_a_ride_router_checkpoint_starts_in_stage_one(
        cifar10_root, tmp_path, python):
    """RIDE's router config, --epochs 6 (router stage: epochs 5-6,
    1-based), then load_from its last checkpoint (head buffers: routing):
    the new run's first epoch trains the experts with RIDE's loss, and the
    router stage begins at its epoch again."""
    finished = tmp_path / 'finished'
    first = check_command([
        python, 'tools/train.py', RIDE_ROUTER, '--work-dir', finished,
        '--epochs', '6', '--cfg-options', *router_options(cifar10_root)
    ])
    assert "entering stage 'router' at epoch 5 (begin 4)" in first.stdout
    assert load_checkpoint(finished / 'epoch_6.pth')['state_dict'][
        'head.routing_flag']
    again = tmp_path / 'again'
    run = check_command([
        python, 'tools/train.py', RIDE_ROUTER, '--work-dir', again,
        '--epochs', '6', '--cfg-options', *router_options(cifar10_root),
        f'load_from={finished / "epoch_6.pth"}'
    ])
    assert "left the head in mode 'router'; it is set to 'experts'" in \
        run.stdout
    records = [r for r in scalars(again) if r.get('epoch') == 1]
    assert records and all('loss_ride' in r and 'loss_router' not in r
                           for r in records)
    assert "entering stage 'router' at epoch 5 (begin 4)" in run.stdout
    assert re.search(r'Epoch\(train\) +\[6\]\[1/1\].*loss_router',
                     run.stdout)
