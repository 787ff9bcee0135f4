# Copyright (c) shike-mm contributors. All rights reserved.
"""One training run per work directory (:mod:`shike_mm.engine.work_dir_lock`):
exactly one of several processes starting together gets the lock, a killed
owner's lock is taken at once, and a refused second ``tools/train.py``
writes nothing into the first run's work directory."""
import multiprocessing
import os
import signal
import socket
import subprocess
import sys

import pytest

from shike_mm.engine import work_dir_lock
from shike_mm.engine.work_dir_lock import WorkDirLock, WorkDirLockedError
from tests.helpers.commands import run_command
from tests.helpers.lock_holder import start_holder
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options


def stop(process):
    process.kill()
    process.wait()


def dead_pid():
    gone = subprocess.Popen([sys.executable, '-c', 'pass'])
    gone.wait()
    return gone.pid


def contend(work, barrier, results, release):
    """One of the racing processes: acquire right after the others, report
    whether it holds the lock, keep it until told to release."""
    lock = WorkDirLock(work, warn=lambda message: None)
    barrier.wait()
    try:
        lock.acquire()
    except WorkDirLockedError:
        results.put(False)
        return
    results.put(True)
    release.wait(30)
    lock.release()


@pytest.mark.parametrize('previous', ['none', 'dead owner'])
def test_exactly_one_of_concurrent_acquirers_wins(tmp_path, previous):
    """Four processes acquire at the same instant, 25 times over, on a
    fresh directory and on a lock file left by a dead process: one wins
    every time (a read-then-remove takeover let two win)."""
    context = multiprocessing.get_context('fork')
    host = socket.gethostname()
    for trial in range(25):
        work = str(tmp_path / f'trial{trial}')
        if previous == 'dead owner':
            os.makedirs(work)
            with open(os.path.join(work, 'train.lock'), 'w') as f:
                f.write(f'{dead_pid()} {host}\n')
        barrier = context.Barrier(4)
        results = context.Queue()
        release = context.Event()
        racers = [context.Process(target=contend,
                                  args=(work, barrier, results, release))
                  for _ in range(4)]
        for racer in racers:
            racer.start()
        won = sorted(results.get(timeout=60) for _ in racers)
        release.set()
        for racer in racers:
            racer.join(60)
            assert racer.exitcode == 0
        assert won == [False, False, False, True], f'trial {trial}: {won}'
        # released cleanly: the file stays, empty
        with open(os.path.join(work, 'train.lock')) as f:
            assert f.read() == ''


def test_killed_owner_lock_is_taken_at_once(tmp_path):
    holder = start_holder(tmp_path)
    try:
        with pytest.raises(WorkDirLockedError, match=(
                f'{tmp_path} is in use by another training run \\(pid '
                f'{holder.pid} on {socket.gethostname()}, on this host')):
            WorkDirLock(str(tmp_path)).acquire()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    warnings = []
    lock = WorkDirLock(str(tmp_path), warn=warnings.append)
    lock.acquire()  # no wait, no retry: the kernel released it
    assert warnings == [
        f'{tmp_path}/train.lock: taking over a lock of pid {holder.pid} on '
        f'{socket.gethostname()}, which is not running (a run that ended '
        'without releasing it)'
    ]
    assert (tmp_path / 'train.lock').read_text() == \
        f'{os.getpid()} {socket.gethostname()}\n'
    lock.release()
    assert (tmp_path / 'train.lock').read_text() == ''


def test_lock_naming_a_live_unrelated_pid_is_taken(tmp_path):
    """A pid written by a dead run and reused by another process does not
    block: only a process holding the lock does."""
    unrelated = subprocess.Popen([sys.executable, '-c',
                                  'import time; time.sleep(60)'])
    try:
        (tmp_path / 'train.lock').write_text(
            f'{unrelated.pid} {socket.gethostname()}\n')
        with WorkDirLock(str(tmp_path), warn=lambda message: None) as lock:
            assert lock.held
    finally:
        stop(unrelated)


def test_work_dir_that_is_a_file_is_named(tmp_path):
    path = tmp_path / 'work'
    path.write_text('')
    with pytest.raises(NotADirectoryError,
                       match=f'work directory {path} exists and is not a '
                       'directory'):
        WorkDirLock(str(path)).acquire()


def test_only_rank_zero_takes_the_lock(tmp_path, monkeypatch):
    monkeypatch.setenv('RANK', '1')
    with work_dir_lock.work_dir_lock(str(tmp_path), 'pytorch') as lock:
        assert lock is None
    assert not (tmp_path / 'train.lock').exists()
    monkeypatch.setenv('RANK', '0')
    with work_dir_lock.work_dir_lock(str(tmp_path), 'pytorch') as lock:
        assert lock.held


def test_refused_second_run_leaves_the_first_runs_files(tmp_path,
                                                        tiny_root):
    """The refused run writes nothing: mmengine's runner would overwrite
    the config copy and add a log directory as soon as it is built."""
    work = tmp_path / 'work'
    work.mkdir()
    config_copy = work / TINY_CONFIG.name
    config_copy.write_text('# the first run\'s config\n')
    (work / '20260101_000000').mkdir()
    (work / '20260101_000000' / '20260101_000000.log').write_text('log\n')
    holder = start_holder(work)
    try:
        before = sorted(p.relative_to(work).as_posix()
                        for p in work.rglob('*'))
        proc = run_command([sys.executable, 'tools/train.py', TINY_CONFIG,
                            '--work-dir', work, '--cfg-options',
                            *tiny_data_options(tiny_root),
                            'train_cfg.max_epochs=1'])
    finally:
        stop(holder)
    assert proc.returncode != 0
    assert (f'WorkDirLockedError: {work} is in use by another training run '
            f'(pid {holder.pid}' in proc.stdout), proc.stdout[-3000:]
    assert config_copy.read_text() == '# the first run\'s config\n'
    assert sorted(p.relative_to(work).as_posix()
                  for p in work.rglob('*')) == before
