# Copyright (c) shike-mm contributors. All rights reserved.
"""Starting the repository's tools as processes, and reading what they
write."""
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def run_command(args, cwd=REPO_ROOT, env=None, timeout=600):
    """Run a command, return the completed process; fail the test with its
    output when it exits non-zero."""
    full_env = dict(os.environ)
    full_env['PYTHONPATH'] = os.pathsep.join(
        [str(REPO_ROOT)] + [p for p in [os.environ.get('PYTHONPATH')] if p])
    full_env.setdefault('OMP_NUM_THREADS', '1')
    full_env.update(env or {})
    proc = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=full_env, timeout=timeout,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
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
