# Copyright (c) shike-mm contributors. All rights reserved.
"""``tools/test.py`` and ``tools/train.py`` refuse, naming the problem: a
checkpoint trained on other classes than the test set's, nested
``--cfg-options`` typos (before anything is built), a work dir that is a
file, an empty test set. The tools run in this process (``main(argv)``),
but for one refusal of ``tools/train.py`` that checks what the terminal
shows."""
import pytest
import torch

from tests.helpers.commands import run_command
from tests.helpers.inprocess_tools import run_test
from tests.helpers.tiny_runs import (TINY_CONFIG, load, tiny_data_options)

OTHER_CLASSES = ('t-shirt', 'trouser', 'pullover', 'dress')


def run_test_tool(checkpoint, work, root, *extra):
    return run_test([TINY_CONFIG, checkpoint, '--work-dir', work, *extra,
                     '--cfg-options', *tiny_data_options(root)])


def test_checkpoint_of_other_classes_refused(tmp_path, tiny_root, tiny_run):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    checkpoint['meta']['dataset_meta'] = dict(
        checkpoint['meta']['dataset_meta'], classes=OTHER_CLASSES)
    path = tmp_path / 'fashion.pth'
    torch.save(checkpoint, path)
    run = run_test_tool(path, tmp_path / 'w', tiny_root)
    assert run.exit_code != 0, run
    assert (f'checkpoint {path} does not belong to the test dataset '
            "(CustomDataset): it was trained on 4 classes ['t-shirt', "
            "'trouser', 'pullover', 'dress'], the test dataset "
            "(CustomDataset) has 4 classes ['class0', 'class1', 'class2', "
            "'class3'] (first difference at class 0: 't-shirt' vs "
            "'class0')") in run.message, run
    assert '--allow-dataset-mismatch' in run.message
    assert 'accuracy/top1: ' not in run.output
    allowed = run_test_tool(path, tmp_path / 'w2', tiny_root,
                            '--allow-dataset-mismatch')
    assert allowed.exit_code == 0, allowed
    assert 'accuracy/top1: ' in allowed.output


def test_class_names_and_counts_compared():
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 check_checkpoint_dataset)
    names = ['a', 'b', 'c']
    meta = {'dataset_meta': {'classes': ('a', 'b', 'c')},
            'class_counts': [5, 3, 1]}
    check_checkpoint_dataset(meta, names, 'x.pth')  # same classes
    check_checkpoint_dataset({'epoch': 3}, names, 'x.pth')  # nothing stored
    with pytest.raises(CheckpointError, match=r"trained on 3 classes \['a', "
                       r"'b', 'c'\], the test dataset has 4 classes .* "
                       r"\(first difference at class 3: 'none' vs 'd'\)"):
        check_checkpoint_dataset(meta, names + ['d'], 'x.pth')
    with pytest.raises(CheckpointError, match='its meta.class_counts has 2 '
                       'entries, the test dataset has 3 classes'):
        check_checkpoint_dataset({'class_counts': [1, 2]}, names, 'x.pth')


def test_nested_cfg_option_typo_reported_before_building(tmp_path, python,
                                                         tiny_root):
    """As a process (the one refusal of tools/train.py that is): exit
    status 1, one traceback (no chain of them) and the message as the last
    line the terminal shows."""
    proc = run_command([python, 'tools/train.py', TINY_CONFIG, '--work-dir',
                        tmp_path / 'w', '--cfg-options',
                        *tiny_data_options(tiny_root),
                        'train_cfg.max_epoch=1'])
    assert proc.returncode == 1, proc.stdout[-3000:]
    assert proc.stdout.rstrip().splitlines()[-1].startswith(
        "ValueError: --cfg-options train_cfg.max_epoch: 'train_cfg' has "
        "no entry 'max_epoch'; did you mean 'max_epochs' "
        '(train_cfg.max_epochs)?'), proc.stdout[-3000:]
    assert proc.stdout.count('Traceback (most recent call last)') == 1
    assert 'During handling of the above exception' not in proc.stdout
    assert not (tmp_path / 'w').exists()  # nothing built or written


@pytest.mark.parametrize('option, near', [
    ('optim_wrapper.optimizer.lrr', 'optim_wrapper.optimizer.lr'),
    ('model.backbone.deph', 'model.backbone.depth'),
    ('param_scheduler.0.ends', 'param_scheduler.0.end'),
])
def test_nested_typos_named(option, near):
    from mmengine.config import Config

    from shike_mm.utils.runner_cli import check_nested_keys
    cfg = Config.fromfile(TINY_CONFIG)
    cfg.param_scheduler = [dict(type='MultiStepLR', end=2, milestones=[1])]
    with pytest.raises(ValueError, match=rf'did you mean .* \({near}\)'):
        check_nested_keys(cfg, {option: 1})
    # new keys unlike the existing ones, and existing ones, pass
    check_nested_keys(cfg, {'model.head.keep_expert_logits': True,
                            'train_cfg.max_epochs': 1,
                            'param_scheduler.0.end': 1})


def test_work_dir_that_is_a_file(tmp_path, tiny_root, tiny_run):
    work = tmp_path / 'results.txt'
    work.write_text('not a directory')
    run = run_test_tool(tiny_run / 'epoch_1.pth', work, tiny_root)
    assert run.exit_code != 0, run
    assert f'work_dir {work} exists and is a file, not a directory' in \
        run.message, run
    assert work.read_text() == 'not a directory'  # left as it was


def test_empty_test_set_named(tmp_path, tiny_root, tiny_run):
    run = run_test_tool(tiny_run / 'epoch_1.pth', tmp_path / 'w',
                        tiny_root, '--cfg-options',
                        'test_dataloader.dataset.indices=0')
    assert run.raised(ValueError), run
    assert 'ValueError: the test dataset (CustomDataset) is empty: no image ' \
        'to evaluate' in run.message, run
