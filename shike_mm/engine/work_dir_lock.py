# Copyright (c) shike-mm contributors. All rights reserved.
"""One training run per work directory.

Two runs writing ``epoch_N.pth`` and ``last_checkpoint`` in the same
directory overwrite and delete each other's checkpoints. :class:`WorkDirLock`
holds ``<work_dir>/train.lock`` (``pid host``) while a run trains; a second
run refuses to start, naming the first. A lock left by a process that no
longer exists on this host (killed with SIGKILL, a crashed node) is taken
over with a warning.
"""
import os
import os.path as osp
import socket
from typing import Callable, Optional, Tuple

LOCK_NAME = 'train.lock'


class WorkDirLockedError(RuntimeError):
    """Another run holds the work directory."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(path: str) -> Optional[Tuple[int, str]]:
    try:
        with open(path, encoding='utf-8') as f:
            fields = f.read().split()
        return int(fields[0]), fields[1]
    except (OSError, ValueError, IndexError):
        return None


class WorkDirLock:
    """The lock file of a work directory.

    Args:
        work_dir (str): The directory.
        warn (callable): Called with the message when a stale lock is
            taken over. Defaults to ``print``.
    """

    def __init__(self, work_dir: str,
                 warn: Callable[[str], None] = print) -> None:
        self.path = osp.join(work_dir, LOCK_NAME)
        self.warn = warn
        self.held = False
        self.me = (os.getpid(), socket.gethostname())

    def _create(self) -> bool:
        """Create the lock file with its whole content, atomically
        (``os.link`` fails if the name exists); False if it exists."""
        temp = f'{self.path}.{self.me[0]}'
        with open(temp, 'w', encoding='utf-8') as f:
            f.write(f'{self.me[0]} {self.me[1]}\n')
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(temp, self.path)
            return True
        except FileExistsError:
            return False
        finally:
            os.remove(temp)

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            WorkDirLockedError: when a live process (or one on another
                host) holds it.
        """
        os.makedirs(osp.dirname(self.path) or '.', exist_ok=True)
        for _ in range(3):
            if self._create():
                self.held = True
                return
            owner = _read(self.path)
            if owner == self.me:
                self.held = True
                return
            if owner is None:
                what = 'an unreadable lock'
            else:
                pid, host = owner
                if host != self.me[1] or _pid_alive(pid):
                    where = 'on this host' if host == self.me[1] else \
                        'on another host'
                    raise WorkDirLockedError(
                        f'{osp.dirname(self.path)} is in use by another '
                        f'training run (pid {pid} on {host}, {where}; '
                        f'lock file {self.path}). Use another --work-dir, '
                        'or wait for that run to end. If it is gone, '
                        'remove the lock file.')
                what = f'a lock of pid {pid} on {host}, which is not running'
            self.warn(f'{self.path}: taking over {what} (a run that ended '
                      'without releasing it)')
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
        raise WorkDirLockedError(f'could not take the lock {self.path}')

    def release(self) -> None:
        """Remove the lock file if this process holds it."""
        if self.held and _read(self.path) == self.me:
            os.remove(self.path)
        self.held = False
