# Copyright (c) shike-mm contributors. All rights reserved.
"""SIGKILL in the middle of an epoch, in stage 1 and in stage 2 of SHIKE,
then ``--resume``: the final weights are bit-identical to an uninterrupted
run (the partial epoch is redone from the last epoch checkpoint)."""
import torch
from mmengine.config import Config

from tests.helpers.commands import check_command, load_checkpoint, run_command
from tests.helpers.cifar_runs import CONFIG, EPOCHS, tiny_options


# 159 images, batch 32: 5 iterations per epoch; with the schedule
# compressed to 6 epochs (EPOCHS), epochs 1-3 are stage 1, 4-6 stage 2.
ITERS_PER_EPOCH = 5


def killing_config(tmp_path, iteration):
    """The SHIKE config plus a hook that SIGKILLs after ``iteration``."""
    hooks = [dict(h) for h in Config.fromfile(str(CONFIG)).custom_hooks]
    hooks.append(dict(type='KillAtIterHook', iteration=iteration))
    path = tmp_path / f'kill_at_{iteration}.py'
    path.write_text(
        f"_base_ = [{str(CONFIG)!r}]\n"
        "custom_imports = dict(imports=['shike_mm', 'tests.data.test_hooks'],"
        " allow_failed_imports=False)\n"
        f"custom_hooks = {hooks!r}\n")
    return path


def weights(path):
    return load_checkpoint(path)['state_dict']


def test_sigkill_mid_epoch_in_both_stages_then_resume(tmp_path, cifar_root,
                                                      python):
    opts = tiny_options(cifar_root) + ['val_cfg=None', 'val_dataloader=None',
                                       'val_evaluator=None']
    check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                   tmp_path / 'full', *EPOCHS, '--cfg-options', *opts])
    reference = weights(tmp_path / 'full/epoch_6.pth')

    # SIGKILL at the 3rd iteration of epoch 2 (stage 1); resume, and kill
    # the resumed run at the 3rd iteration of epoch 5 (stage 2); resume.
    work = tmp_path / 'killed'
    for stage, iteration, resume in ((1, ITERS_PER_EPOCH + 3, []),
                                     (2, 4 * ITERS_PER_EPOCH + 3,
                                      ['--resume'])):
        killed = run_command([python, 'tools/train.py',
                              killing_config(tmp_path, iteration),
                              '--work-dir', work, *resume, *EPOCHS,
                              '--cfg-options', *opts])
        assert killed.returncode == -9, killed.stdout[-3000:]
        last_epoch = (iteration - 1) // ITERS_PER_EPOCH
        assert (work / f'epoch_{last_epoch}.pth').is_file()
        assert not (work / f'epoch_{last_epoch + 1}.pth').exists()
        assert f'[{last_epoch + 1}][3/{ITERS_PER_EPOCH}]' in killed.stdout
        if stage == 2:
            assert 'resumed epoch: 1, iter: 5' in killed.stdout

    resumed = check_command([python, 'tools/train.py', CONFIG, '--work-dir',
                             work, '--resume', *EPOCHS, '--cfg-options',
                             *opts])
    assert 'resumed epoch: 4, iter: 20' in resumed.stdout
    assert "resumed in stage 'retrain' at epoch 5" in resumed.stdout
    again = weights(work / 'epoch_6.pth')
    assert again.keys() == reference.keys()
    for key, value in reference.items():
        assert torch.equal(value, again[key]), key
