# Copyright (c) shike-mm contributors. All rights reserved.
"""``compile`` in a config: whether this machine can honour it
(:func:`compile_unavailable`), and the runner (through :class:`CompileHook`)
training uncompiled, with a warning, when it cannot. Which configs compile
by default. The cases that start a process or compile are in
tests/integration/engine/test_compile_support.py."""
import logging

import pytest

from shike_mm.utils.compile_support import compile_unavailable
from tests.helpers.compile_fakes import compile_step, runner_with


@pytest.fixture
def no_cxx():
    """Inductor's C++ compiler search finds nothing.

    ``torch._inductor.config.patch`` restores the option itself; pytest's
    monkeypatch cannot be used on Inductor's config proxy (pytest 9.2's
    undo deletes the option instead of restoring it).
    """
    from torch._inductor import config, cpp_builder
    with config.patch({'cpp.cxx': ('no-such-c++-compiler', )}):
        cpp_builder.cpp_compiler_search.cache_clear()
        yield
    cpp_builder.cpp_compiler_search.cache_clear()


def test_nothing_to_check_without_compile():
    for value in (None, False):
        assert compile_unavailable(value) is None
    with pytest.raises(TypeError, match="got str 'yes'"):
        compile_unavailable('yes')


def test_cpu_inductor_needs_a_cpp_compiler(no_cxx):
    problem = compile_unavailable(True, on_gpu=False)
    assert 'C++ compiler' in problem and 'no-such-c++-compiler' in problem
    assert compile_unavailable(dict(dynamic=False), on_gpu=False) == problem
    # tracing-only backends generate no code
    for backend in ('eager', 'aot_eager'):
        assert compile_unavailable(dict(backend=backend), False) is None


def test_gpu_inductor_needs_triton(monkeypatch):
    import torch.utils._triton as triton
    monkeypatch.setattr(triton, 'has_triton', lambda: False)
    assert 'Triton' in compile_unavailable(True, on_gpu=True)
    monkeypatch.setattr(triton, 'has_triton', lambda: True)
    assert compile_unavailable(True, on_gpu=True) is None


def test_runner_trains_uncompiled_with_a_warning(no_cxx, caplog):
    runner = runner_with(dict(dynamic=False))
    step = runner.model.train_step
    with caplog.at_level(logging.WARNING, logger='compile-support-test'):
        compile_step(runner)
    assert runner.model.train_step == step  # left as it was
    assert "compile={'dynamic': False} is not used" in caplog.text
    assert 'C++ compiler' in caplog.text and 'compile=False' in caplog.text
