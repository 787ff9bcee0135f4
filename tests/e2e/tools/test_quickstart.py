# Copyright (c) shike-mm contributors. All rights reserved.
"""The quickstart config (README command 1) for a few iterations through
tools/train.py on the real Fashion-MNIST files (generated IDX files of the
same format when the Debian package is absent), including the switch to
stage 2, then the results printer and tools/compare.py on the run (those
two in-process, through their ``main(argv)``)."""
import os
import re

import pytest

from tests.helpers.commands import check_command
from tests.helpers.generators import write_fashion_mnist_idx
from tests.helpers.tool_modules import load_script, load_tool


CONFIG = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist'


@pytest.fixture(scope='module')
def fashion_root(tmp_path_factory):
    if os.path.isfile(os.path.join(DEBIAN_ROOT,
                                   'train-images-idx3-ubyte.gz')):
        return DEBIAN_ROOT
    return write_fashion_mnist_idx(
        str(tmp_path_factory.mktemp('fm')), per_class=100, test_per_class=5)


def quick_options(root):
    return [
        f'train_dataloader.dataset.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        # 200, 119, 71, 43, 25, 15, 9, 5, 3, 2 images: 492 in all
        'train_dataloader.dataset.max_per_class=200',
        'train_dataloader.num_workers=0', 'val_dataloader.num_workers=0',
        # the first 200 test images keep validation short
        'val_dataloader.dataset.indices=200',
        'default_hooks.logger.interval=1',
    ]


# The whole 20-epoch schedule compressed to 6 epochs (tools/train.py
# --epochs): stage 2 from epoch 3 (0-based), validation every epoch.
EPOCHS = ['--epochs', '6']


def test_quickstart_config_runs_both_stages(tmp_path, fashion_root, python,
                                            capsys):
    # tools/compare.py trains the run with tools/train.py (its log passes
    # through) and tabulates it
    out = tmp_path / 'table.md'
    compare = [python, 'tools/compare.py', CONFIG, '--work-root', tmp_path,
               *EPOCHS, '--out', out, '--cfg-options',
               *quick_options(fashion_root)]
    run = check_command(compare)
    work_dir, = (tmp_path / 'shike_r32_fashion-mnist-lt-r100-1k_20e').glob(
        'seed0-*')
    assert '492 training images' in run.stdout
    assert re.search(r'Epoch\(train\) +\[3\]\[4/4\].*loss_dkt', run.stdout)
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.stdout
    assert re.search(r'Epoch\(train\) +\[4\]\[4/4\].*loss_bsce', run.stdout)
    assert (work_dir / 'epoch_6.pth').is_file()

    capsys.readouterr()
    load_tool('print_lt_results').main([str(work_dir)])
    printed = capsys.readouterr().out
    for label in ('overall top-1', 'many-shot', 'medium-shot', 'few-shot'):
        assert re.search(rf'{label} +[0-9.]+\n', printed), label
    assert 'best checkpoint' in printed

    # A second tools/compare.py tabulates the finished run without training
    # again (a training would start tools/train.py: refused here).
    out.unlink()

    def no_training(*args, **kwargs):
        raise AssertionError(f'trained again: {args}')

    load_script('tools/compare.py').main(
        [str(a) for a in compare[2:]], train_fn=no_training)
    again = capsys.readouterr().out
    assert f'[compare] reusing {work_dir}' in again
    table = out.read_text()
    row = re.search(r'\| \[shike_r32_fashion-mnist-lt-r100-1k_20e\]'
                    r'\(configs/shike/[^)]+\) \| ([0-9.]+) \| ([0-9.]+) \| '
                    r'([0-9.]+) \| ([0-9.]+) \| 1,242,448 \|', table)
    assert row, table
    assert '6 epochs, batch 128, 492 training images, seed 0' in table
    assert 'Commit `' in table
