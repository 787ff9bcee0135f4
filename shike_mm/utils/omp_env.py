# Copyright (c) shike-mm contributors. All rights reserved.
"""How OpenMP threads wait: a bounded spin, for CPUs that others share.

torch runs every CPU kernel on a team of OpenMP threads (libgomp here: the
locked torch links GNU OpenMP, and MKL its ``gnu_thread`` layer) that meet
at a barrier after each parallel operation. By default a libgomp thread
that arrives first spins, busy, for about 300,000 turns before it sleeps.
On an idle machine that saves a wake-up; on a shared one the spinning
thread holds a core that the thread it waits for, or another process,
needs, and a small-kernel network like a CIFAR ResNet-32 (one barrier or
more per operation, forward and backward) then waits for a time slice at
nearly every barrier: with one busy process per core the quickstart's
iterations took 4x as long as idle, where a fair share of the cores gives
2x.

:data:`OMP_ENV_DEFAULTS` bounds the spin to 30,000 turns
(``GOMP_SPINCOUNT=30000``): long enough to catch a partner that arrives a
moment later on an idle machine, short enough to give the core up under
load (``tools/benchmarks/load_slowdown.py`` measures libgomp's default,
passive waiting and any spin count side by side; docs/performance.md has
the figures). It changes when threads wait, not which thread computes
what (an operation's work is split by the number of threads alone), so
results are bit-identical.

libgomp reads the setting once, when torch loads. ``import shike_mm``
therefore applies it first thing (:func:`apply_omp_defaults`), which
reaches every tool and every script that imports shike_mm before torch;
a process that loaded torch earlier keeps its own. Nothing is added when
the user has chosen how threads wait (any of :data:`WAIT_SETTINGS` set:
``GOMP_SPINCOUNT=300000`` gives libgomp's own default back,
``OMP_WAIT_POLICY=PASSIVE`` sleeps at once), nor with one OpenMP thread
(``OMP_NUM_THREADS=1``), where nothing waits. This module imports nothing
but the standard library, so that applying it cannot load torch.
"""
import os
import sys
from typing import Dict, Mapping, MutableMapping, Optional

#: the wait setting added where the user set none: a bounded spin
OMP_ENV_DEFAULTS: Dict[str, str] = {'GOMP_SPINCOUNT': '30000'}

#: libgomp's own default, written out (what runs without any setting)
LIBGOMP_DEFAULT_SPIN: Dict[str, str] = {'GOMP_SPINCOUNT': '300000'}

#: variables that decide how OpenMP threads wait: GNU OpenMP's policy and
#: spin count, Intel OpenMP's block time
WAIT_SETTINGS = ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT', 'KMP_BLOCKTIME')


def _user_decides(env: Mapping[str, str]) -> bool:
    return env.get('OMP_NUM_THREADS', '').strip() == '1' or any(
        name in env for name in WAIT_SETTINGS)


def omp_env(environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """``environ`` with :data:`OMP_ENV_DEFAULTS` added where not set.

    Args:
        environ (Mapping[str, str], optional): default ``os.environ``.

    Returns:
        dict: a copy of ``environ``, unchanged when one of
        :data:`WAIT_SETTINGS` is set or ``OMP_NUM_THREADS`` is ``1``.
    """
    env = dict(os.environ if environ is None else environ)
    if not _user_decides(env):
        env.update(OMP_ENV_DEFAULTS)
    return env


def apply_omp_defaults(
        environ: Optional[MutableMapping[str, str]] = None,
        modules: Optional[Mapping[str, object]] = None) -> Dict[str, str]:
    """Add :data:`OMP_ENV_DEFAULTS` to the environment of this process
    while it can still take effect (before torch loads libgomp).

    Args:
        environ (MutableMapping[str, str], optional): the environment to
            change, default ``os.environ`` (which children inherit too).
        modules (Mapping[str, object], optional): the loaded modules,
            default ``sys.modules``.

    Returns:
        dict: the variables added; empty when torch is loaded already, or
        when the user decides (see :func:`omp_env`).
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if 'torch' in modules or _user_decides(environ):
        return {}
    environ.update(OMP_ENV_DEFAULTS)
    return dict(OMP_ENV_DEFAULTS)


def describe_wait(environ: Optional[Mapping[str, str]] = None) -> str:
    """One line on how OpenMP threads wait in ``environ`` (default
    ``os.environ``), e.g. ``GOMP_SPINCOUNT=30000, OMP_WAIT_POLICY=(unset),
    OMP_NUM_THREADS=(unset)``."""
    env = os.environ if environ is None else environ
    names = ('GOMP_SPINCOUNT', 'OMP_WAIT_POLICY', 'OMP_NUM_THREADS')
    return ', '.join(f'{name}={env.get(name, "(unset)")}' for name in names)
