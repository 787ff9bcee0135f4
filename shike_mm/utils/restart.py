# Copyright (c) shike-mm contributors. All rights reserved.
"""Start the running command again with another environment.

Some settings of torch's libraries (OpenMP's wait policy, the instruction
set of ATen, oneDNN and MKL) are read from the environment once, when the
libraries load on ``import torch``; setting ``os.environ`` afterwards
changes nothing. A tool that wants them sets them by starting itself again
(``os.execve``: the same process id, so launchers and ``kill`` still see
one process) with the environment in place; in the restarted process the
environment is already what was asked for and it carries on. A process
restarts at most once (:data:`RESTARTED` holds its process id), so a
variable that changes by itself cannot make it loop.
"""
import os
import sys
from typing import List, Mapping, Optional, Sequence


def strip_option(argv: Sequence[str], option: str) -> List[str]:
    """``argv`` without ``option`` and its value (``--isa avx2`` or
    ``--isa=avx2``), to start the same command again."""
    out: List[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + '='):
            out.append(arg)
    return out


#: set to the process id by a restart; the restarted process (the same
#: id) does not restart again, its children (other ids) may
RESTARTED = 'SHIKE_MM_RESTARTED_PID'


def _without_marker(env: Mapping[str, str]) -> dict:
    return {k: v for k, v in env.items() if k != RESTARTED}


def restart_with_env(env: Mapping[str, str],
                     drop_option: Optional[str] = None) -> None:
    """Start this command again under ``env`` unless it already runs under
    it.

    Args:
        env (Mapping[str, str]): the whole environment wanted.
        drop_option (str, optional): an option to remove (with its value)
            from the command line of the restarted process.

    Returns when ``env`` equals ``os.environ`` (:data:`RESTARTED` aside),
    or when this process was restarted already; otherwise the process is
    replaced (``os.execve`` of ``sys.executable`` with the interpreter
    options and arguments of ``sys.orig_argv``).
    """
    if _without_marker(env) == _without_marker(os.environ):
        return
    if os.environ.get(RESTARTED) == str(os.getpid()):
        return
    argv = list(sys.orig_argv[1:])
    if drop_option:
        argv = strip_option(argv, drop_option)
    new_env = _without_marker(env)
    new_env[RESTARTED] = str(os.getpid())
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable] + argv, new_env)
