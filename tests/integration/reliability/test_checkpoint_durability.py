# Copyright (c) shike-mm contributors. All rights reserved.
"""The last good checkpoint survives a kill at any instant, a full disk, a
SIGTERM, a copied work directory and a second run in the same directory
(:class:`AtomicCheckpointHook`, :class:`WorkDirLock`)."""
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest
import torch

from tests.helpers.commands import check_command, run_command
from tests.helpers.tiny_runs import (TINY_CONFIG, load, tiny_data_options)
from tests.helpers.tiny_runs import hooked_config


def train(config, work, root, epochs, *extra):
    return run_command([sys.executable, 'tools/train.py', config,
                        '--work-dir', work, *extra, '--cfg-options',
                        *tiny_data_options(root),
                        f'train_cfg.max_epochs={epochs}'])


def pointer(work):
    return (work / 'last_checkpoint').read_text().strip()


def assert_finishes_on_resume(work, root, epochs):
    proc = train(TINY_CONFIG, work, root, epochs, '--resume')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (work / f'epoch_{epochs}.pth').is_file()
    return proc


def test_sigkill_when_previous_checkpoint_is_removed_then_resume(
        tmp_path, tiny_root):
    work = tmp_path / 'work'
    config = hooked_config(tmp_path,
                           "dict(type='KillAfterCheckpointRemovalHook')")
    killed = train(config, work, tiny_root, 3)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-3000:]
    # epoch_1.pth was removed only once epoch_2.pth was complete and
    # last_checkpoint named it
    assert not (work / 'epoch_1.pth').exists()
    assert pointer(work) == 'epoch_2.pth'
    assert load(work / 'epoch_2.pth')['meta']['epoch'] == 2
    resumed = assert_finishes_on_resume(work, tiny_root, 3)
    assert 'resumed epoch: 2' in resumed.stdout
    assert 'taking over a lock of pid' in resumed.stdout  # killed run's


def test_disk_full_keeps_previous_checkpoint(tmp_path, tiny_root):
    work = tmp_path / 'work'
    config = hooked_config(tmp_path, "dict(type='DiskFullAtEpochHook', "
                           'epoch=2)')
    proc = train(config, work, tiny_root, 3)
    assert proc.returncode != 0
    assert (f'could not write the checkpoint {work}/epoch_2.pth: No space '
            'left on device. Nothing was removed: the last good checkpoint, '
            f'{work}/epoch_1.pth, is kept') in proc.stdout
    assert sorted(p.name for p in work.glob('*.pth*')) == [
        'best_accuracy_top1_epoch_1.pth', 'epoch_1.pth']
    assert not list(work.glob('.*.part'))
    assert pointer(work) == 'epoch_1.pth'
    assert load(work / 'epoch_1.pth')['meta']['epoch'] == 1
    assert_finishes_on_resume(work, tiny_root, 3)


def test_copied_work_dir_resumes(tmp_path, tiny_root):
    first = tmp_path / 'first'
    check_command([sys.executable, 'tools/train.py', TINY_CONFIG,
                   '--work-dir', first, '--cfg-options',
                   *tiny_data_options(tiny_root), 'train_cfg.max_epochs=1'])
    assert pointer(first) == 'epoch_1.pth'  # relative to the work dir
    copy = tmp_path / 'copy'
    shutil.copytree(first, copy)
    first.rename(tmp_path / 'moved_away')
    proc = train(TINY_CONFIG, copy, tiny_root, 2, '--resume',
                 '--resume-anyway')
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert f'Auto resumed from the latest checkpoint {copy}/epoch_1.pth' \
        in proc.stdout
    assert (copy / 'epoch_2.pth').is_file()


def test_last_checkpoint_pointer_relative_absolute_and_missing(tmp_path):
    from shike_mm.engine.checkpoint.file_io import (read_last_checkpoint,
                                                    write_last_checkpoint)
    assert read_last_checkpoint(str(tmp_path)) is None
    (tmp_path / 'epoch_3.pth').write_bytes(b'x')
    write_last_checkpoint(str(tmp_path), str(tmp_path / 'epoch_3.pth'))
    assert pointer(tmp_path) == 'epoch_3.pth'
    assert read_last_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_3.pth')
    # an absolute path written by an older run in another directory
    (tmp_path / 'last_checkpoint').write_text('/elsewhere/run/epoch_3.pth')
    assert read_last_checkpoint(str(tmp_path)) == str(
        tmp_path / 'epoch_3.pth')
    (tmp_path / 'last_checkpoint').write_text('epoch_9.pth')
    with pytest.raises(FileNotFoundError, match='names the checkpoint .*'
                       'epoch_9.pth, which does not exist'):
        read_last_checkpoint(str(tmp_path))
    assert not list(tmp_path.glob('.*.part'))


def test_commit_failure_leaves_final_name_untouched(tmp_path,
                                                    monkeypatch):
    from shike_mm.engine.checkpoint.file_io import atomic_write_bytes
    target = tmp_path / 'epoch_1.pth'
    atomic_write_bytes(str(target), b'good')

    def full(*args):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'replace', full)
    with pytest.raises(OSError, match='No space'):
        atomic_write_bytes(str(target), b'partial')
    monkeypatch.undo()
    assert target.read_bytes() == b'good'
    assert not list(tmp_path.glob('.*.part'))


def write_lock(work, pid, host=None):
    work.mkdir(parents=True, exist_ok=True)
    (work / 'train.lock').write_text(
        f'{pid} {host or socket.gethostname()}\n')


def test_second_run_in_same_work_dir_is_refused(tmp_path, tiny_root):
    from tests.helpers.lock_holder import start_holder
    work = tmp_path / 'work'
    work.mkdir()
    other = start_holder(work)  # holds the lock, as a training run does
    try:
        proc = train(TINY_CONFIG, work, tiny_root, 1)
    finally:
        other.kill()
        other.wait()
    assert proc.returncode != 0
    assert (f'WorkDirLockedError: {work} is in use by another training run '
            f'(pid {other.pid} on {socket.gethostname()}, on this host'
            in proc.stdout), proc.stdout[-3000:]
    assert 'Epoch(train)' not in proc.stdout
    assert (work / 'train.lock').read_text().split()[0] == str(other.pid)


def test_lock_of_another_host_is_refused(tmp_path):
    from shike_mm.engine.work_dir_lock import WorkDirLock, WorkDirLockedError
    write_lock(tmp_path, 1, 'node-17')
    with pytest.raises(WorkDirLockedError, match='pid 1 on node-17, on '
                       'another host'):
        WorkDirLock(str(tmp_path)).acquire()


def test_stale_lock_is_taken_over(tmp_path, tiny_root):
    work = tmp_path / 'work'
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    write_lock(work, gone.pid)
    proc = train(TINY_CONFIG, work, tiny_root, 1)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert (f'train.lock: taking over a lock of pid {gone.pid} on '
            f'{socket.gethostname()}, which is not running') in proc.stdout
    # released at the end: the file stays (never deleted), empty
    assert (work / 'train.lock').read_text() == ''


def test_sigterm_between_checkpoints_exits_naming_last_good(tmp_path,
                                                            tiny_root):
    # 6 iterations per epoch: SIGTERM at iteration 2 of epoch 2
    work = tmp_path / 'work'
    config = hooked_config(tmp_path, "dict(type='SigtermHook', iteration=8)")
    proc = train(config, work, tiny_root, 3)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stdout[-3000:]
    assert ('SIGTERM received at epoch 2, iteration 8: training stopped; '
            f'the last good checkpoint is {work}/epoch_1.pth (--resume '
            'continues from it)') in proc.stdout
    assert not (work / 'epoch_2.pth').exists()
    assert (work / 'train.lock').read_text() == ''  # released
    assert_finishes_on_resume(work, tiny_root, 3)


def test_sigterm_during_save_finishes_the_checkpoint(tmp_path, tiny_root):
    work = tmp_path / 'work'
    config = hooked_config(
        tmp_path, "dict(type='SigtermHook', epoch=2, in_save=True)")
    proc = train(config, work, tiny_root, 3)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stdout[-3000:]
    assert (f'training stopped; the last good checkpoint is '
            f'{work}/epoch_2.pth') in proc.stdout
    assert pointer(work) == 'epoch_2.pth'
    assert not (work / 'epoch_1.pth').exists()
    assert torch.isfinite(
        load(work / 'epoch_2.pth')['state_dict']['head.fc.weight']).all()
