# Copyright (c) shike-mm contributors. All rights reserved.
"""Whether ``torch.compile`` can run here with a given backend.

Inductor, ``torch.compile``'s default backend, generates C++ for CPU
kernels (it needs a working C++ compiler, ``g++`` unless
``torch._inductor.config.cpp.cxx`` or ``CXX`` says otherwise) and Triton
for GPU kernels. Without them the first compiled training step fails deep
inside Inductor. Configs that turn ``compile`` on by default (the long
SHIKE CIFAR schedules) should still train on a machine without a
toolchain, eagerly and with a warning that says why:
:class:`~shike_mm.engine.DeviceAwareRunner` asks :func:`compile_unavailable`
before compiling.
"""
from typing import Optional, Union

import torch

#: Backends that need no code generation: always available.
TRACING_ONLY_BACKENDS = ('eager', 'aot_eager')


def compile_unavailable(compile_cfg: Union[bool, dict, None],
                        on_gpu: Optional[bool] = None) -> Optional[str]:
    """Why ``compile_cfg`` cannot be honoured here, or None if it can.

    Args:
        compile_cfg (bool | dict | None): The config's ``compile`` entry
            (``True``, or the keyword arguments of ``torch.compile``).
        on_gpu (bool, optional): Whether the model runs on a CUDA device;
            defaults to ``torch.cuda.is_available()``.

    Returns:
        str | None: A sentence naming what is missing, or None.

    Raises:
        TypeError: ``compile_cfg`` is neither a bool nor a dict.
    """
    if compile_cfg is None or compile_cfg is False:
        return None
    if compile_cfg is not True and not isinstance(compile_cfg, dict):
        raise TypeError('compile must be True, False or a dict of '
                        'torch.compile arguments, got '
                        f'{type(compile_cfg).__name__} {compile_cfg!r}')
    backend = 'inductor' if compile_cfg is True else compile_cfg.get(
        'backend', 'inductor')
    if not isinstance(backend, str) or backend in TRACING_ONLY_BACKENDS:
        return None
    if not hasattr(torch, 'compile'):
        return f'torch {torch.__version__} has no torch.compile'
    if backend != 'inductor':
        return None  # other backends check themselves
    if on_gpu is None:
        on_gpu = torch.cuda.is_available()
    if on_gpu:
        try:
            from torch.utils._triton import has_triton
        except ImportError:  # pragma: no cover - very old torch
            return None
        return None if has_triton() else (
            'Inductor needs Triton for GPU kernels and it is not installed')
    return _missing_cpp_compiler()


def compile_fallback_warning(compile_cfg: Union[bool, dict, None],
                             model: torch.nn.Module) -> Optional[str]:
    """The warning to log when ``compile_cfg`` cannot be honoured for
    ``model`` on this machine (training then runs eagerly), or None.

    Args:
        compile_cfg (bool | dict | None): The config's ``compile`` entry.
        model (nn.Module): The model; where its first parameter lives
            decides between the CPU and GPU toolchains.

    Returns:
        str | None: The warning, or None when compiling can go ahead.
    """
    param = next(model.parameters(), None)
    problem = compile_unavailable(
        compile_cfg, on_gpu=None if param is None else param.is_cuda)
    if problem is None:
        return None
    return (f'compile={compile_cfg!r} is not used: {problem}. Training '
            'runs without torch.compile (same results, slower); set '
            'compile=False to silence this.')


def _missing_cpp_compiler() -> Optional[str]:
    try:
        from torch._inductor import cpp_builder
    except ImportError:  # pragma: no cover - torch without Inductor
        return f'torch {torch.__version__} has no Inductor'
    # the search is cached per process; a test may change the candidates
    search = getattr(cpp_builder, 'cpp_compiler_search', None)
    if hasattr(search, 'cache_clear'):
        search.cache_clear()
    try:
        cpp_builder.get_cpp_compiler()
    except Exception as error:  # InvalidCxxCompiler and platform checks
        return ('Inductor needs a C++ compiler for CPU kernels and none of '
                f'{_cxx_candidates()} works ({type(error).__name__}); '
                'install g++ or set CXX')
    return None


def _cxx_candidates() -> str:
    """The compilers Inductor tries, for a message; never raises (the
    option's name and presence differ between torch releases)."""
    try:
        from torch._inductor import config
        return repr(config.cpp.cxx)
    except Exception:  # AttributeError, or a torch without the option
        return 'the compilers Inductor looks for'
