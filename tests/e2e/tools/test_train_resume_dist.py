# Copyright (c) shike-mm contributors. All rights reserved.
"""End-to-end checks of tools/train.py and tools/test.py on a tiny mmpretrain
baseline (ResNet_CIFAR + LinearClsHead). The 2-process DDP run is in
tests/e2e/engine/test_decoupled_training_e2e.py."""
import re

import pytest
import torch

from tests.helpers.commands import REPO_ROOT, check_command, run_command
from tests.helpers.commands import load_checkpoint as load_state
from tests.helpers.tiny_image_folder import write_image_folder


CONFIG = REPO_ROOT / 'tests/data/configs/tiny_resnet_cifar.py'


@pytest.fixture(scope='module')
def tiny_root(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp('tiny'))


def data_options(root):
    return [f'{k}={root}' for k in (
        'train_dataloader.dataset.data_root',
        'val_dataloader.dataset.data_root',
        'test_dataloader.dataset.data_root')]


def config_with_hook(tmp_path, hook):
    """A config file inheriting CONFIG that adds one test-only hook."""
    path = tmp_path / 'with_hook.py'
    path.write_text(
        f"_base_ = [{str(CONFIG)!r}]\n"
        "custom_imports = dict(imports=['shike_mm', 'tests.data.test_hooks'],"
        " allow_failed_imports=False)\n"
        f"custom_hooks = [{hook}]\n")
    return path


def test_kill_resume_and_test(tmp_path, tiny_root, python):
    opts = data_options(tiny_root) + ['train_cfg.max_epochs=3']
    # Uninterrupted reference run.
    check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                   tmp_path / 'full', '--cfg-options', *opts])
    # Same run, SIGKILLed right after the epoch-2 checkpoint.
    killed = run_command([
        python, 'tools/train.py',
        config_with_hook(tmp_path, "dict(type='KillAfterEpochHook', epoch=2)"),
        '--work-dir', tmp_path / 'killed', '--cfg-options', *opts])
    assert killed.returncode == -9, killed.stdout[-3000:]
    assert (tmp_path / 'killed/epoch_2.pth').is_file()
    assert not (tmp_path / 'killed/epoch_3.pth').exists()

    # --resume without a path picks the latest checkpoint of the work dir.
    resumed = check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                             tmp_path / 'killed', '--resume',
                             '--cfg-options', *opts])
    assert 'resumed epoch: 2, iter: 12' in resumed.stdout
    assert re.search(r'Epoch\(train\) +\[3\]', resumed.stdout)
    assert not re.search(r'Epoch\(train\) +\[[12]\]', resumed.stdout)

    full = load_state(tmp_path / 'full/epoch_3.pth')
    again = load_state(tmp_path / 'killed/epoch_3.pth')
    assert full['meta']['epoch'] == again['meta']['epoch'] == 3
    for key, value in full['state_dict'].items():
        assert torch.equal(value, again['state_dict'][key]), key

    out = tmp_path / 'preds.pkl'
    tested = check_command([python, 'tools/test.py', CONFIG,
                            tmp_path / 'killed/epoch_3.pth', '--work-dir',
                            tmp_path / 'test', '--out', out,
                            '--cfg-options', *opts])
    test_top1 = re.findall(r'accuracy/top1: ([0-9.]+)', tested.stdout)
    val_log = (tmp_path / 'full').glob('*/vis_data/scalars.json')
    val_top1 = re.findall(r'"accuracy/top1": ([0-9.]+)',
                          next(val_log).read_text())
    assert test_top1 and float(test_top1[-1]) == float(val_top1[-1])
    assert out.is_file()


def test_resume_rejects_missing_checkpoint(tmp_path, tiny_root, python):
    proc = run_command([python, 'tools/train.py', CONFIG, '--work-dir',
                        tmp_path, '--resume', tmp_path / 'nope.pth',
                        '--cfg-options', *data_options(tiny_root)])
    assert proc.returncode != 0
    assert 'nope.pth' in proc.stdout
