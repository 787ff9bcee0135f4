# Copyright (c) shike-mm contributors. All rights reserved.
"""One training run per work directory.

Two runs writing ``epoch_N.pth`` and ``last_checkpoint`` in the same
directory overwrite and delete each other's checkpoints, and mmengine's
runner writes its config copy and log directory into the work directory as
soon as it is built. :func:`work_dir_lock` is therefore taken before the
runner is built, and :class:`WorkDirLock` holds ``<work_dir>/train.lock``
while a run trains; a second run refuses to start, naming the first.

The lock is an ``fcntl.flock`` on a file that is never deleted: the kernel
grants it to one process at a time and releases it when that process ends,
however it ends (SIGKILL included), so there is no stale lock to take over
and no window between reading an owner and replacing it. The file holds the
owner's ``pid host`` for the messages only; a clean release empties it.
"""
import errno
import fcntl
import os
import os.path as osp
import socket
from contextlib import contextmanager
from typing import Callable, Iterator, Optional, Tuple

LOCK_NAME = 'train.lock'

#: The environment variable that gives a process's global rank before the
#: process group exists, per launcher (``tools/train.py --launcher``).
RANK_VARIABLES = {
    'pytorch': 'RANK',
    'slurm': 'SLURM_PROCID',
    'mpi': 'OMPI_COMM_WORLD_RANK',
}


class WorkDirLockedError(RuntimeError):
    """Another run holds the work directory."""


def _parse(text: str) -> Optional[Tuple[int, str]]:
    """``(pid, host)`` from a lock file's text, or None."""
    fields = text.split()
    try:
        return int(fields[0]), fields[1]
    except (ValueError, IndexError):
        return None


class WorkDirLock:
    """The lock file of a work directory.

    Args:
        work_dir (str): The directory (created if missing).
        warn (callable): Called with a message when the previous owner
            ended without releasing the lock, or when the file system
            cannot lock. Defaults to ``print``.
    """

    def __init__(self, work_dir: str,
                 warn: Callable[[str], None] = print) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, LOCK_NAME)
        self.warn = warn
        self.me = (os.getpid(), socket.gethostname())
        self._fd: Optional[int] = None

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def acquire(self) -> None:
        """Take the lock, without waiting.

        Raises:
            WorkDirLockedError: when another process holds it, or when the
                file names a run on another host that did not release it.
            NotADirectoryError: when ``work_dir`` is not a directory.
        """
        if osp.exists(self.work_dir) and not osp.isdir(self.work_dir):
            raise NotADirectoryError(
                f'work directory {self.work_dir} exists and is not a '
                'directory; use another --work-dir')
        os.makedirs(self.work_dir, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _parse(self._read(fd))
            os.close(fd)
            raise WorkDirLockedError(self._in_use(owner)) from None
        except OSError as err:
            os.close(fd)
            if err.errno not in (errno.ENOLCK, errno.EOPNOTSUPP,
                                 errno.ENOSYS, errno.EINVAL):
                raise
            self.warn(f'{self.path}: the file system does not support '
                      f'locks ({err.strerror}); nothing stops a second run '
                      'from using this work directory at the same time')
            return
        try:
            self._take_over(fd)
        except BaseException:
            os.close(fd)  # releases the flock
            raise
        self._fd = fd

    def _take_over(self, fd: int) -> None:
        """With the flock held: refuse a lock left by a run on another host,
        say which run on this host ended without releasing it, then write
        this process's ``pid host``."""
        previous = _parse(self._read(fd))
        if previous is not None and previous != self.me:
            pid, host = previous
            if host != self.me[1]:
                # a run on another host that did not release: its lock may
                # be invisible here if the file system does not share locks
                raise WorkDirLockedError(self._in_use(previous) + ' If that '
                                         'run is gone, empty or remove the '
                                         'lock file.')
            self.warn(f'{self.path}: taking over a lock of pid {pid} on '
                      f'{host}, which is not running (a run that ended '
                      'without releasing it)')
        os.ftruncate(fd, 0)
        os.pwrite(fd, f'{self.me[0]} {self.me[1]}\n'.encode(), 0)
        os.fsync(fd)

    def _in_use(self, owner: Optional[Tuple[int, str]]) -> str:
        if owner is None:
            who = 'a process that has not written its pid yet'
        else:
            pid, host = owner
            where = 'on this host' if host == self.me[1] else \
                'on another host'
            who = f'pid {pid} on {host}, {where}'
        return (f'{self.work_dir} is in use by another training run ({who}; '
                f'lock file {self.path}). Use another --work-dir, or wait '
                'for that run to end.')

    @staticmethod
    def _read(fd: int) -> str:
        return os.pread(fd, 4096, 0).decode('utf-8', errors='replace')

    def release(self) -> None:
        """Empty the lock file and release the lock, if held (the file
        stays, so that no other process can lock a file that is about to
        be removed)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)
        finally:
            os.close(fd)  # releases the flock

    def __enter__(self) -> 'WorkDirLock':
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()


def launcher_rank(launcher: str) -> int:
    """This process's global rank as its launcher gives it, before any
    process group exists (0 without a launcher).

    Args:
        launcher (str): ``'none'``, ``'pytorch'``, ``'slurm'`` or
            ``'mpi'``.
    """
    variable = RANK_VARIABLES.get(launcher)
    if variable is None:
        return 0
    return int(os.environ.get(variable, '0'))


@contextmanager
def work_dir_lock(work_dir: str, launcher: str = 'none',
                  warn: Callable[[str], None] = print
                  ) -> Iterator[Optional[WorkDirLock]]:
    """Hold the work directory's lock in the main process (rank 0) for the
    duration of the block; other ranks hold nothing.

    Take it before building the runner: mmengine's ``Runner.__init__``
    writes the config copy and the log directory into the work directory.

    Args:
        work_dir (str): The work directory.
        launcher (str): The launcher, which decides how the rank is read
            (:func:`launcher_rank`).
        warn (callable): Receives the lock's warnings.

    Yields:
        WorkDirLock | None: The held lock, or None on other ranks.
    """
    if launcher_rank(launcher) != 0:
        yield None
        return
    with WorkDirLock(work_dir, warn=warn) as lock:
        yield lock
