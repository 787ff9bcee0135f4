# Copyright (c) shike-mm contributors. All rights reserved.
"""The OpenMP setting for training on a CPU that other processes share.

torch runs every CPU kernel on a team of OpenMP threads (libgomp here: the
locked torch links GNU OpenMP, and MKL its ``gnu_thread`` layer) that meet
at a barrier after each parallel operation. By default a thread that
arrives first spins, busy, for a while (libgomp: about 300,000 turns)
before it sleeps. On an idle machine that saves a wake-up; on a shared one
the spinning thread holds a core that the thread it waits for, or another
process, needs, and a small-kernel network like a CIFAR ResNet-32 (one
barrier or more per operation, forward and backward) then waits for a
time slice at nearly every barrier: the step slows far more than its
share of the cores would say.

``OMP_WAIT_POLICY=PASSIVE`` makes waiting threads sleep at once. It
changes when threads wait, not which thread computes what (the work of an
operation is split by the number of threads alone), so results are
bit-identical. libgomp reads it once, when torch loads, so it belongs in
the environment of the command. The tools keep libgomp's default: on an
idle machine passive waiting is slower (every barrier wakes a sleeping
thread); ``tools/benchmarks/load_slowdown.py`` measures both.

Nothing is added when the user has chosen how threads wait (any of
:data:`WAIT_SETTINGS` set: ``GOMP_SPINCOUNT=300000`` gives libgomp's own
default back, ``OMP_WAIT_POLICY=ACTIVE`` spins always), nor with one
OpenMP thread (``OMP_NUM_THREADS=1``), where nothing waits.
"""
import os
from typing import Dict, Mapping, Optional

#: the setting for a shared CPU, added where no wait setting is set
OMP_ENV_DEFAULTS: Dict[str, str] = {'OMP_WAIT_POLICY': 'PASSIVE'}

#: variables that decide how OpenMP threads wait: GNU OpenMP's policy and
#: spin count, Intel OpenMP's block time
WAIT_SETTINGS = ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME')


def omp_env(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``environ`` with :data:`OMP_ENV_DEFAULTS` added where not set.

    Args:
        environ (Mapping[str, str], optional): default ``os.environ``.

    Returns:
        dict: a copy of ``environ``, unchanged when one of
        :data:`WAIT_SETTINGS` is set or ``OMP_NUM_THREADS`` is ``1``.
    """
    env = dict(os.environ if environ is None else environ)
    if env.get('OMP_NUM_THREADS', '').strip() == '1' or any(
            name in env for name in WAIT_SETTINGS):
        return env
    env.update(OMP_ENV_DEFAULTS)
    return env
