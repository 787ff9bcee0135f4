# Copyright (c) shike-mm contributors. All rights reserved.
"""A bounded competing load: busy processes that share the CPU with a
measurement, started and always stopped by the one who measures."""
import contextlib
import os
import subprocess
import sys
from typing import Iterator, List

#: one busy process: a pure-Python loop (no threads, no memory traffic)
#: that stops after ``argv[1]`` seconds or when its parent is gone (Linux:
#: PR_SET_PDEATHSIG, and a check of the parent id now and then)
SPIN = '''
import ctypes, os, sys, time
parent = int(sys.argv[2])
try:
    ctypes.CDLL(None).prctl(1, 9)  # PR_SET_PDEATHSIG: SIGKILL
except Exception:
    pass
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(100000):
        pass
'''


@contextlib.contextmanager
def competing_load(num_procs: int,
                   max_seconds: float = 1800.0) -> Iterator[List[int]]:
    """Run ``num_procs`` busy processes for the duration of the block.

    They are killed when the block ends, also on an exception or Ctrl-C,
    and each stops by itself after ``max_seconds`` or when this process
    dies, so a load never outlives its measurement.

    Args:
        num_procs (int): busy processes (0: none).
        max_seconds (float): the longest a busy process runs.

    Yields:
        list[int]: their process ids.
    """
    if num_procs < 0:
        raise ValueError(f'num_procs must be >= 0, got {num_procs}')
    procs: List[subprocess.Popen] = []
    try:
        for _ in range(num_procs):
            procs.append(
                subprocess.Popen([
                    sys.executable, '-c', SPIN,
                    str(max_seconds),
                    str(os.getpid())
                ],
                                 stdin=subprocess.DEVNULL))
        yield [p.pid for p in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
        for proc in procs:
            proc.wait()
