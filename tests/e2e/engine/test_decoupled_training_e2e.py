# Copyright (c) shike-mm contributors. All rights reserved.
"""Two-stage SHIKE training end to end through tools/train.py with the real
CIFAR config on a tiny generated CIFAR-10 (real pickle format): the stage
switch, what stage 2 may change, the logged loss, resume after the
boundary, evaluation of the stage-2 checkpoint, and the same switch under
2-process DDP on CPU."""
import re
import shutil

import pytest
import torch

from tests.helpers.cifar_runs import (BN_STATS, CONFIG, EPOCHS, RETRAIN,
                                      logged_losses, tiny_options)
from tests.helpers.commands import check_command, free_port
from tests.helpers.commands import load_checkpoint as state


def test_two_stage_switch_resume_and_test(tmp_path, cifar_root, python):
    opts = tiny_options(cifar_root)
    run = check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                         tmp_path / 'full', *EPOCHS, '--cfg-options', *opts])
    assert "entering stage 'retrain' at epoch 4 (begin 3)" in run.stdout

    before = state(tmp_path / 'full/epoch_3.pth')['state_dict']
    last = state(tmp_path / 'full/epoch_6.pth')
    after = last['state_dict']
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
    for epoch in (1, 2, 3):
        assert losses[epoch] == {'loss_ce', 'loss_dkt', 'loss_mutual'}
    for epoch in (4, 5, 6):
        assert losses[epoch] == {'loss_bsce'}
    # The class counts travel with the model.
    counts = last['meta']['class_counts']
    assert counts == [int(40 * 0.1**(c / 9)) for c in range(10)]

    # Resume from the epoch-4 checkpoint (after the boundary): same result.
    resumed_dir = tmp_path / 'resumed'
    resumed_dir.mkdir()
    shutil.copy(tmp_path / 'full/epoch_4.pth', resumed_dir)
    resumed = check_command([
        python, 'tools/train.py', CONFIG, '--work-dir', resumed_dir,
        '--resume', resumed_dir / 'epoch_4.pth', *EPOCHS,
        '--cfg-options', *opts])
    assert "resumed in stage 'retrain' at epoch 5" in resumed.stdout
    again = state(resumed_dir / 'epoch_6.pth')['state_dict']
    for key, value in after.items():
        assert torch.equal(value, again[key]), key

    # The stage-2 checkpoint evaluates with the retrain classifiers and
    # reports the shot groups from the class counts stored in it: the
    # training split may be absent (here: its data root does not exist).
    # (thresholds scaled to the tiny counts 40 ... 4 so no group is empty)
    out = tmp_path / 'preds.pkl'
    tested = check_command([python, 'tools/test.py', CONFIG,
                            tmp_path / 'full/epoch_6.pth', '--work-dir',
                            tmp_path / 'test', '--out', out,
                            '--cfg-options', *[
                                o for o in opts if not o.startswith(
                                    'train_dataloader.dataset.dataset.data_'
                                    'root')],
                            f'train_dataloader.dataset.dataset.data_root='
                            f'{tmp_path / "absent"}',
                            'test_evaluator.many_shot_thr=30',
                            'test_evaluator.few_shot_thr=10'])
    assert 'from the checkpoint (meta.class_counts)' in tested.stdout
    for key in ('top1', 'many', 'medium', 'few'):
        assert re.search(rf'accuracy/{key}: [0-9.]+', tested.stdout), key
    # By default the predictions hold no per-expert logits.
    import pickle
    with open(out, 'rb') as f:
        predictions = pickle.load(f)
    assert len(predictions) == 60
    assert 'pred_score' in predictions[0]
    assert not any('expert_logits' in p for p in predictions)


def test_two_stages_under_cpu_ddp(tmp_path, cifar_root):
    """The project's one 2-process DDP run (gloo on CPU): both ranks switch
    stage together and report identical validation metrics every epoch, and
    dist_test.sh reproduces the last one."""
    from mmengine.config import Config
    hooks = [dict(h) for h in Config.fromfile(str(CONFIG)).custom_hooks]
    hooks.append(dict(type='RankMetricsReportHook'))
    config = tmp_path / 'with_rank_report.py'
    config.write_text(
        f"_base_ = [{str(CONFIG)!r}]\n"
        "custom_imports = dict(imports=['shike_mm', 'tests.data.test_hooks'],"
        " allow_failed_imports=False)\n"
        f"custom_hooks = {hooks!r}\n")
    opts = tiny_options(cifar_root) + ['val_evaluator.per_class=False',
                                       'test_evaluator.per_class=False']
    proc = check_command(['bash', 'tools/dist_train.sh', config, '2',
                          '--work-dir', tmp_path, *EPOCHS, '--cfg-options',
                          *opts], env={'PORT': str(free_port())})
    if not torch.cuda.is_available():
        assert 'gloo' in proc.stdout
    # rank 0 logs
    assert proc.stdout.count("entering stage 'retrain' at epoch 4") == 1
    by_rank = {}
    for rank, epoch, metrics in re.findall(
            r'RANK_METRICS rank=(\d) epoch=(\d+) (.*)', proc.stdout):
        by_rank.setdefault(rank, []).append((epoch, metrics))
    assert sorted(by_rank) == ['0', '1'], proc.stdout[-3000:]
    assert len(by_rank['0']) == 6 and by_rank['0'] == by_rank['1']

    before = state(tmp_path / 'epoch_3.pth')['state_dict']
    after = state(tmp_path / 'epoch_6.pth')['state_dict']
    # SyncBuffersHook averages buffers over the ranks: the mode flag must
    # survive that.
    assert not before['head.retraining_flag'].item()
    assert after['head.retraining_flag'].item()
    for key, value in before.items():
        if key.startswith(RETRAIN):
            assert not torch.equal(value, after[key]), key
        elif not key.endswith(BN_STATS + ('retraining_flag', )):
            assert torch.equal(value, after[key]), f'{key} changed in stage 2'

    tested = check_command([
        'bash', 'tools/dist_test.sh', CONFIG, tmp_path / 'epoch_6.pth', '2',
        '--work-dir', tmp_path / 'test', '--cfg-options', *opts],
        env={'PORT': str(free_port())})
    last_val = dict(kv.split('=') for kv in by_rank['0'][-1][1].split())
    test_top1 = re.findall(r'accuracy/top1: ([0-9.]+)', tested.stdout)
    assert float(test_top1[-1]) == pytest.approx(
        float(last_val['accuracy/top1']), abs=1e-4)
