# Copyright (c) shike-mm contributors. All rights reserved.
"""Starting the repository's tools as processes, and reading what they
write."""
import os
import signal
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def default_sigint() -> None:
    """Give a child process the default Ctrl-C handling, as a shell does:
    pytest-xdist workers ignore SIGINT, and a child inherits that, so that
    Python in the child would never raise KeyboardInterrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run_command(args, cwd=REPO_ROOT, env=None, timeout=600):
    """Run a command as a user would start it (this checkout first on
    ``PYTHONPATH``, one OpenMP thread unless ``env`` says otherwise,
    default Ctrl-C handling) and return the completed process, stdout and
    stderr together in ``stdout``."""
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=full_env, timeout=timeout,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=default_sigint)
    return proc


def check_command(args, **kwargs):
    proc = run_command(args, **kwargs)
    if proc.returncode != 0:
        pytest.fail(f'command failed ({proc.returncode}): '
                    f'{" ".join(map(str, args))}\n{proc.stdout[-6000:]}')
    return proc


def load_checkpoint(path):
    """Load a checkpoint the way torch >= 2.6 does by default
    (``weights_only=True``): also a check that shike_mm's allow-list of
    checkpoint globals suffices."""
    import torch

    import shike_mm  # noqa: F401  registers the allow-list
    return torch.load(path, map_location='cpu', weights_only=True)


def free_port() -> int:
    """A TCP port on localhost that no process listens on now (for a
    distributed run's rendezvous; tests may run in parallel)."""
    import socket
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
