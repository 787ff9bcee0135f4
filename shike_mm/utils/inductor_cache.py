# Copyright (c) shike-mm contributors. All rights reserved.
"""Inductor's on-disk cache, one folder per CPU instruction set.

With the locked torch, kernels that Inductor compiled and cached while
ATen ran with one instruction set are found again, and give wrong numbers
(NaN losses in ``tests/integration/models/test_compiled_step.py``), when a
later process caps the instruction set (``ATEN_CPU_CAPABILITY=avx2`` on an
AVX-512 CPU, as ``tools/benchmark.py --isa avx2`` does); with an empty
cache the capped process computes the right numbers. Keying the cache
folder by the capability ATen runs with keeps the two apart.
"""
import os
from typing import MutableMapping, Optional

#: Inductor's cache folder variable (torch/_inductor/runtime/
#: cache_dir_utils.py reads it at every use)
CACHE_DIR_VAR = 'TORCHINDUCTOR_CACHE_DIR'


def isa_cache_dir(capability: str) -> str:
    """Inductor's default cache folder with ``capability`` (e.g.
    ``'AVX2'``) as a sub-folder."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    return os.path.join(default_cache_dir(), f'isa-{capability.lower()}')


def is_isa_cache_dir(path: str) -> bool:
    """Whether ``path`` is a folder :func:`isa_cache_dir` names, or
    Inductor's default (which torch writes into the environment at its
    first use), and not one a user chose."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    path, default = os.path.abspath(path), os.path.abspath(
        default_cache_dir())
    return path == default or (os.path.dirname(path) == default and
                               os.path.basename(path).startswith('isa-'))


def key_inductor_cache_by_isa(
        environ: Optional[MutableMapping[str, str]] = None,
        capability: Optional[str] = None) -> str:
    """Point Inductor's cache at the folder of the running ISA, unless the
    user chose a folder (``TORCHINDUCTOR_CACHE_DIR`` set to a folder that
    is not one of :func:`isa_cache_dir`'s: a process started by a process
    with another ISA gets its own).

    Call it before the first ``torch.compile`` of a process; processes it
    starts inherit the folder through the environment.

    Args:
        environ (MutableMapping[str, str], optional): The environment to
            set. Defaults to ``os.environ``.
        capability (str, optional): The instruction set; defaults to
            ``torch.backends.cpu.get_cpu_capability()``.

    Returns:
        str: The cache folder in use.
    """
    environ = os.environ if environ is None else environ
    chosen = environ.get(CACHE_DIR_VAR)
    if chosen and not is_isa_cache_dir(chosen):
        return chosen
    if capability is None:
        import torch
        capability = torch.backends.cpu.get_cpu_capability()
    environ[CACHE_DIR_VAR] = isa_cache_dir(capability)
    return environ[CACHE_DIR_VAR]
