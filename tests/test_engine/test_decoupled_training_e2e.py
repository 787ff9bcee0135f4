# Copyright (c) shike-mm contributors. All rights reserved.
"""Two-stage SHIKE training end to end through tools/train.py with the real
CIFAR config on a tiny generated CIFAR-10 (real pickle format): the stage
switch, what stage 2 may change, the logged loss, resume after the
boundary, evaluation of the stage-2 checkpoint, and the same switch under
2-process DDP on CPU."""
import json
import re
import shutil

import pytest
import torch

from tests.conftest import REPO_ROOT, check_command
from tests.test_datasets.generators import write_cifar

CONFIG = REPO_ROOT / 'configs/shike/shike_r32_cifar10-lt-r100.py'
BN_STATS = ('running_mean', 'running_var', 'num_batches_tracked')
RETRAIN = 'head.retrain_classifiers.'


@pytest.fixture(scope='module')
def cifar_root(tmp_path_factory):
    root = tmp_path_factory.mktemp('cifar10')
    write_cifar(str(root), num_classes=10, per_class=40, test_per_class=6,
                variant='cifar10')
    return root


def tiny_options(root, max_epochs=4, cornerstone=2):
    return [
        f'train_dataloader.dataset.dataset.data_root={root}',
        'train_dataloader.dataset.dataset.verify_md5=False',
        # 40 -> 4 images per class, 131 in all
        'train_dataloader.dataset.imbalance_factor=10',
        f'val_dataloader.dataset.data_root={root}',
        'val_dataloader.dataset.verify_md5=False',
        f'test_dataloader.dataset.data_root={root}',
        'test_dataloader.dataset.verify_md5=False',
        'train_dataloader.batch_size=32', 'train_dataloader.num_workers=0',
        'val_dataloader.num_workers=0', 'test_dataloader.num_workers=0',
        f'train_cfg.max_epochs={max_epochs}',
        f'custom_hooks.0.cornerstone={cornerstone}',
        'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=-1',
    ]


def state(path):
    import shike_mm  # noqa: F401
    return torch.load(path, map_location='cpu', weights_only=True)


def logged_losses(work_dir):
    """{epoch: set of loss keys} from the json scalars log."""
    keys = {}
    for line in next(work_dir.glob('*/vis_data/scalars.json')).open():
        record = json.loads(line)
        if 'epoch' in record and 'loss' in record:
            keys.setdefault(record['epoch'], set()).update(
                k for k in record if k.startswith('loss_'))
    return keys


def test_two_stage_switch_resume_and_test(tmp_path, cifar_root, python):
    opts = tiny_options(cifar_root)
    run = check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                         tmp_path / 'full', '--cfg-options', *opts])
    assert 'entering stage 2 (classifier retraining) at epoch 3' in run.stdout

    before = state(tmp_path / 'full/epoch_2.pth')['state_dict']
    after = state(tmp_path / 'full/epoch_4.pth')['state_dict']
    changed = []
    for key, value in before.items():
        if key.startswith(RETRAIN):
            changed.append(key)
            assert not torch.equal(value, after[key]), key
        elif key.endswith(BN_STATS):
            continue  # the reference keeps BN statistics updating
        elif key == 'head.retraining_flag':
            assert not value.item() and after[key].item()
        else:
            assert torch.equal(value, after[key]), f'{key} changed in stage 2'
    assert changed, 'no retrain classifier in the state dict'
    # BN statistics do keep updating (train mode) in stage 2.
    assert any(not torch.equal(before[k], after[k]) for k in before
               if k.endswith('running_mean'))

    losses = logged_losses(tmp_path / 'full')
    assert losses[1] == losses[2] == {'loss_ce', 'loss_dkt', 'loss_mutual'}
    assert losses[3] == losses[4] == {'loss_bsce'}

    # Resume from the epoch-3 checkpoint (after the boundary): same result.
    resumed_dir = tmp_path / 'resumed'
    resumed_dir.mkdir()
    shutil.copy(tmp_path / 'full/epoch_3.pth', resumed_dir)
    resumed = check_command([
        python, 'tools/train.py', CONFIG, '--work-dir', resumed_dir,
        '--resume', resumed_dir / 'epoch_3.pth', '--cfg-options', *opts])
    assert 'resumed in stage 2' in resumed.stdout
    again = state(resumed_dir / 'epoch_4.pth')['state_dict']
    for key, value in after.items():
        assert torch.equal(value, again[key]), key

    # The stage-2 checkpoint evaluates with the retrain classifiers and
    # reports the shot groups from the training counts.
    # (thresholds scaled to the tiny counts 40 ... 4 so no group is empty)
    tested = check_command([python, 'tools/test.py', CONFIG,
                            tmp_path / 'full/epoch_4.pth', '--work-dir',
                            tmp_path / 'test', '--cfg-options', *opts,
                            'test_evaluator.many_shot_thr=30',
                            'test_evaluator.few_shot_thr=10'])
    for key in ('top1', 'many', 'medium', 'few'):
        assert re.search(rf'accuracy/{key}: [0-9.]+', tested.stdout), key


def test_stage_switch_under_cpu_ddp(tmp_path, cifar_root):
    opts = tiny_options(cifar_root, max_epochs=2, cornerstone=1)
    check_command(['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
                   tmp_path, '--cfg-options', *opts],
                  env={'PORT': '29547'})
    before = state(tmp_path / 'epoch_1.pth')['state_dict']
    after = state(tmp_path / 'epoch_2.pth')['state_dict']
    # SyncBuffersHook averages buffers over the ranks: the mode flag must
    # survive that.
    assert not before['head.retraining_flag'].item()
    assert after['head.retraining_flag'].item()
    for key, value in before.items():
        if key.startswith(RETRAIN):
            assert not torch.equal(value, after[key]), key
        elif not key.endswith(BN_STATS + ('retraining_flag', )):
            assert torch.equal(value, after[key]), f'{key} changed in stage 2'
