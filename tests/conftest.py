# Copyright (c) shike-mm contributors. All rights reserved.
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


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


@pytest.fixture(scope='session')
def repo_root():
    return REPO_ROOT


@pytest.fixture(scope='session')
def python():
    return sys.executable
