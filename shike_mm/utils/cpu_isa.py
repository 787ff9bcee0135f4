# Copyright (c) shike-mm contributors. All rights reserved.
"""Cap the CPU instruction set (ISA) that torch's kernels use, and report
the ISA each library actually runs with.

Four libraries pick their vector instructions on their own, each once,
when it is loaded (so the variables must be in the environment before
``import torch``; :func:`isa_env` builds such an environment for a new
process, and :func:`shike_mm.utils.restart.restart_with_env` starts a
tool again with it):

========================  ===========================  ==================
library                   variable (value for AVX2)    what it covers
========================  ===========================  ==================
ATen (eager kernels)      ``ATEN_CPU_CAPABILITY=avx2`` element-wise ops,
                                                       reductions, norms
oneDNN (mkldnn)           ``ONEDNN_MAX_CPU_ISA=AVX2``  convolutions and
                          (``DNNL_MAX_CPU_ISA``, the   their backward
                          older name, set alike)
MKL (BLAS)                ``MKL_ENABLE_INSTRUCTIONS``  matrix products
                          ``=AVX2``
Inductor (generated C++)  ``ATEN_CPU_CAPABILITY`` and  ``torch.compile``'s
                          ``torch._inductor.config``   kernels
                          ``.cpp.simdlen = 256``
========================  ===========================  ==================

Inductor reads ``ATEN_CPU_CAPABILITY`` when ``cpp.simdlen`` is unset
(``torch._inductor.cpu_vec_isa.pick_vec_isa``); :func:`apply_inductor_isa`
sets ``simdlen`` as well so the choice does not rest on that fallback.

:func:`isa_report` says what each library reports in the running process
(ATen and Inductor directly; oneDNN and MKL from their verbose start-up
lines, printed by one small convolution and one matrix product in a child
process with the same environment).
"""
import os
import re
import subprocess
import sys
from typing import Dict, Mapping, Optional

from .inductor_cache import (CACHE_DIR_VAR, is_isa_cache_dir,
                             key_inductor_cache_by_isa)

#: ``--isa`` choices: ``native`` leaves every library to its own choice
ISA_CHOICES = ('native', 'avx2')

#: the environment that caps each library to an ISA (see the module doc)
ISA_ENV: Dict[str, Dict[str, str]] = {
    'avx2': {
        'ATEN_CPU_CAPABILITY': 'avx2',
        'ONEDNN_MAX_CPU_ISA': 'AVX2',
        'DNNL_MAX_CPU_ISA': 'AVX2',
        'MKL_ENABLE_INSTRUCTIONS': 'AVX2',
    },
}

#: Inductor's ``cpp.simdlen`` (vector width in bits) per ISA
INDUCTOR_SIMDLEN = {'avx2': 256}

#: what ``torch.backends.cpu.get_cpu_capability()`` says under the cap
ATEN_CAPABILITY = {'avx2': 'AVX2'}

#: set in the environment of a process started with the cap in place, so
#: that it does not start itself again; its value is the ISA
MARKER = 'SHIKE_MM_CPU_ISA'


def _check_isa(isa: str) -> None:
    if isa not in ISA_CHOICES:
        raise ValueError(f'unknown ISA {isa!r}: expected one of '
                         f'{", ".join(ISA_CHOICES)}')


def isa_env(isa: str,
            environ: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    """The environment for a new process whose libraries use ``isa``.

    Args:
        isa (str): one of :data:`ISA_CHOICES`.
        environ (Mapping[str, str], optional): the environment to start
            from. Defaults to ``os.environ``.

    Returns:
        dict: a copy of ``environ`` with the variables of
        :data:`ISA_ENV` for ``isa`` set (overriding values already there)
        and :data:`MARKER` set to ``isa``. For ``'native'`` the variables
        of every capped ISA are removed instead, so that each library
        chooses on its own. Inductor's cache folder is the capped ISA's
        own (:mod:`shike_mm.utils.inductor_cache`), unless ``environ``
        names a folder of the user's.
    """
    _check_isa(isa)
    env = dict(os.environ if environ is None else environ)
    if isa == 'native':
        for table in ISA_ENV.values():
            for name in table:
                env.pop(name, None)
        if is_isa_cache_dir(env.get(CACHE_DIR_VAR) or ''):
            env.pop(CACHE_DIR_VAR)  # the process keys its own
    else:
        env.update(ISA_ENV[isa])
        key_inductor_cache_by_isa(env, ATEN_CAPABILITY[isa])
    env[MARKER] = isa
    return env


def requested_isa(environ: Optional[Mapping[str, str]] = None) -> str:
    """The ISA this process was started with (:data:`MARKER`), or
    ``'native'`` when it was started without a cap."""
    environ = os.environ if environ is None else environ
    isa = environ.get(MARKER, 'native')
    _check_isa(isa)
    return isa


def apply_inductor_isa(isa: str) -> None:
    """Set Inductor's vector width for ``isa`` (``cpp.simdlen``; ``None``,
    Inductor's own choice, for ``'native'``)."""
    _check_isa(isa)
    from torch._inductor import config
    config.cpp.simdlen = INDUCTOR_SIMDLEN.get(isa)


#: run in a child process: one oneDNN convolution and one MKL matrix
#: product, each library printing its verbose start-up lines
_PROBE = ('import torch\n'
          'x = torch.randn(1, 8, 8, 8)\n'
          'w = torch.randn(8, 8, 3, 3)\n'
          'torch.ops.aten.mkldnn_convolution(x, w, None, [1, 1], [1, 1], '
          '[1, 1], 1)\n'
          'a = torch.randn(64, 64)\n'
          'torch.mm(a, a)\n')


def parse_onednn_isa(text: str) -> Optional[str]:
    """The ISA in oneDNN's verbose start-up line
    (``onednn_verbose,...,info,cpu,isa:Intel AVX2``), or ``None``."""
    match = re.search(r'^onednn_verbose,.*?info,cpu,isa:(.*)$', text,
                      re.MULTILINE)
    return match.group(1).strip() if match else None


def parse_mkl_isa(text: str) -> Optional[str]:
    """The processor kind in MKL's verbose banner (``MKL_VERBOSE oneMKL
    ... for Intel(R) 64 architecture <kind>, Lnx ...``), or ``None``. On an
    Intel CPU it names the instruction set (e.g. ``Intel(R) Advanced Vector
    Extensions 2 (Intel(R) AVX2) enabled processors``); elsewhere MKL may
    only say ``Intel(R) Architecture processors``."""
    match = re.search(r'^MKL_VERBOSE .*? architecture (.*?), \w+ [\d.]+GHz',
                      text, re.MULTILINE)
    return match.group(1).strip() if match else None


def library_isa_probe(env: Optional[Mapping[str, str]] = None,
                      timeout: float = 120) -> Dict[str, Optional[str]]:
    """What oneDNN and MKL report in a child process started with ``env``
    (default: this process' environment).

    Returns:
        dict: ``{'onednn': str or None, 'mkl': str or None}``; ``None``
        where the library printed nothing to parse.
    """
    env = dict(os.environ if env is None else env)
    env.update(ONEDNN_VERBOSE='1', MKL_VERBOSE='1')
    proc = subprocess.run([sys.executable, '-c', _PROBE],
                          env=env,
                          capture_output=True,
                          text=True,
                          timeout=timeout)
    text = proc.stdout + proc.stderr
    return dict(onednn=parse_onednn_isa(text), mkl=parse_mkl_isa(text))


def isa_report(probe_libraries: bool = True) -> Dict[str, Optional[str]]:
    """What each library of this process runs with.

    Args:
        probe_libraries (bool): also ask oneDNN and MKL
            (:func:`library_isa_probe`, a child process of a few seconds).

    Returns:
        dict: ``aten`` (``torch.backends.cpu.get_cpu_capability()``, e.g.
        ``'AVX2'``, ``'AVX512'``), ``inductor`` (``pick_vec_isa()`` and its
        width, e.g. ``'avx2 (256-bit)'``), and with ``probe_libraries``
        ``onednn`` (``'not built'`` in a torch without oneDNN) and
        ``mkl``.
    """
    import torch
    from torch._inductor.cpu_vec_isa import pick_vec_isa
    vec = pick_vec_isa()
    report: Dict[str, Optional[str]] = dict(
        aten=torch.backends.cpu.get_cpu_capability(),
        inductor=f'{vec} ({vec.bit_width()}-bit)' if vec else 'none')
    if probe_libraries:
        report.update(library_isa_probe())
        if not torch.backends.mkldnn.is_available():
            report['onednn'] = 'not built'
    return report


def check_isa_report(isa: str, report: Mapping[str, Optional[str]]) -> None:
    """Raise ``RuntimeError`` naming the library and variable when the cap
    ``isa`` did not take effect in ``report`` (:func:`isa_report`)."""
    _check_isa(isa)
    if isa == 'native':
        return
    problems = []
    if report.get('aten') != ATEN_CAPABILITY[isa]:
        problems.append(f'ATen reports {report.get("aten")!r}, expected '
                        f'{ATEN_CAPABILITY[isa]!r} (ATEN_CPU_CAPABILITY='
                        f'{os.environ.get("ATEN_CPU_CAPABILITY")!r})')
    inductor = report.get('inductor') or ''
    if f'({INDUCTOR_SIMDLEN[isa]}-bit)' not in inductor:
        problems.append(f'Inductor reports {inductor!r}, expected '
                        f'{INDUCTOR_SIMDLEN[isa]}-bit vectors '
                        '(torch._inductor.config.cpp.simdlen)')
    onednn = report.get('onednn')
    if 'onednn' in report and onednn != 'not built' and (
            onednn is None or isa.upper() not in onednn.upper()):
        problems.append(f'oneDNN reports {onednn!r}, expected {isa} '
                        f'(ONEDNN_MAX_CPU_ISA='
                        f'{os.environ.get("ONEDNN_MAX_CPU_ISA")!r})')
    if problems:
        raise RuntimeError(f'the {isa} cap did not take effect: ' +
                           '; '.join(problems))


def format_isa_report(isa: str, report: Mapping[str, Optional[str]]) -> str:
    """One line: ``isa: requested avx2; ATen AVX2, Inductor ..., oneDNN
    ..., MKL ...``."""
    names = dict(aten='ATen', inductor='Inductor', onednn='oneDNN', mkl='MKL')
    parts = [
        f'{names[key]} {value or "unknown"}' for key, value in report.items()
    ]
    return f'isa: requested {isa}; ' + ', '.join(parts)
