# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/reference_train.py --resume``: a killed public-loop run goes on
from its last finished epoch to the numbers of an uninterrupted one, and a
checkpoint of another run is refused by name. The runs are in-process
(``main(argv)``) on a few images of the quickstart data."""
import os

import pytest
import torch

from tests.helpers.tool_modules import load_script

REFERENCE_REPO = os.environ.get('SHIKE_REFERENCE_REPO')
CONFIG = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
SMALL = [
    '--cfg-options', 'train_dataloader.dataset.max_per_class=40',
    'train_dataloader.dataset.imbalance_factor=10',
    'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=32',
    'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False',
    'val_dataloader.persistent_workers=False'
]

needs_checkout = pytest.mark.skipif(
    not REFERENCE_REPO, reason='set SHIKE_REFERENCE_REPO to a checkout of '
    'github.com/jinyan-06/SHIKE (2b04b62)')


@pytest.fixture(scope='module')
def tool():
    return load_script('tools/reference_train.py')


def _run(tool, work_dir, epochs, *extra):
    tool.main([
        CONFIG, '--reference-repo', REFERENCE_REPO, '--epochs',
        str(epochs), '--cornerstone', '2', '--public-schedule',
        '--work-dir', str(work_dir), '--print-freq', '1000', *extra, *SMALL
    ])
    return torch.load(work_dir / 'checkpoint.pth', weights_only=True)


@needs_checkout
def test_resume_reaches_the_uninterrupted_numbers(tool, tmp_path, capsys,
                                                  monkeypatch):
    """3 epochs at once against a run killed after its first checkpoint,
    then --resume to 3 (crossing the cornerstone at epoch 2): same weights,
    optimizer state and result."""
    straight = _run(tool, tmp_path / 'straight', 3)
    save = tool.save_checkpoint

    def save_then_die(path, state):
        save(path, state)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(tool, 'save_checkpoint', save_then_die)
        with pytest.raises(KeyboardInterrupt):
            _run(tool, tmp_path / 'killed', 3)
    capsys.readouterr()
    resumed = _run(tool, tmp_path / 'killed', 3, '--resume')
    assert 'after epoch 1' in capsys.readouterr().out
    assert resumed['epoch'] == straight['epoch'] == 3
    for key, value in straight['state_dict'].items():
        assert torch.equal(resumed['state_dict'][key], value), key
    for name in ('optimizer', 'optimizer_crt'):
        for index, buffers in straight[name]['state'].items():
            for key, value in buffers.items():
                if torch.is_tensor(value):
                    assert torch.equal(
                        resumed[name]['state'][index][key], value), (name,
                                                                     key)
    assert resumed['result'] == straight['result']


@needs_checkout
def test_resume_refuses_another_seed(tool, tmp_path):
    _run(tool, tmp_path, 1)
    with pytest.raises(SystemExit, match=r'seed=0.*this run has seed=1'):
        _run(tool, tmp_path, 1, '--resume', '--seed', '1')


def test_resume_refuses_a_checkout_without_settings(tool, tmp_path):
    """A checkpoint of the tool before --resume (weights only) is refused
    with the reason, not half-loaded."""
    path = tmp_path / 'checkpoint.pth'
    torch.save({'epoch': 3, 'state_dict': {}}, path)
    args = tool.parse_args([CONFIG, '--reference-repo', 'unused', '--resume'])
    with pytest.raises(SystemExit, match='no run settings saved'):
        tool.load_resume_state(str(path), args)


def test_random_states_round_trip(tool):
    """Torch, numpy and Python random states survive save and restore."""
    import random

    import numpy as np
    states = tool.random_states()
    first = (torch.rand(3), np.random.rand(3), random.random())
    tool.set_random_states(states)
    again = (torch.rand(3), np.random.rand(3), random.random())
    assert torch.equal(first[0], again[0])
    assert np.array_equal(first[1], again[1]) and first[2] == again[2]
