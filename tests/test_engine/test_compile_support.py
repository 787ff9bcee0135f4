# Copyright (c) shike-mm contributors. All rights reserved.
"""``compile`` in a config: whether this machine can honour it
(:func:`compile_unavailable`), and DeviceAwareRunner training uncompiled,
with a warning, when it cannot. Which configs compile by default."""
import logging
import shutil

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from shike_mm.engine.runners import DeviceAwareRunner
from shike_mm.utils.compile_support import compile_unavailable
from tests.conftest import REPO_ROOT


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


def test_cpp_compiler_found_when_installed():
    problem = compile_unavailable(True, on_gpu=False)
    if shutil.which('g++'):
        assert problem is None
    else:
        assert 'C++ compiler' in problem


def test_gpu_inductor_needs_triton(monkeypatch):
    import torch.utils._triton as triton
    monkeypatch.setattr(triton, 'has_triton', lambda: False)
    assert 'Triton' in compile_unavailable(True, on_gpu=True)
    monkeypatch.setattr(triton, 'has_triton', lambda: True)
    assert compile_unavailable(True, on_gpu=True) is None


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def train_step(self, x):
        return self.fc(x).relu()


def runner_with(compile_cfg):
    """A DeviceAwareRunner reduced to what ``_maybe_compile`` uses."""
    runner = object.__new__(DeviceAwareRunner)
    runner.cfg = Config(dict(compile=compile_cfg))
    runner.model = Model()
    runner.logger = logging.getLogger('compile-support-test')
    return runner


def test_runner_trains_uncompiled_with_a_warning(no_cxx, caplog):
    runner = runner_with(dict(dynamic=False))
    step = runner.model.train_step
    with caplog.at_level(logging.WARNING, logger='compile-support-test'):
        runner._maybe_compile('train_step')
    assert runner.model.train_step == step  # left as it was
    assert "compile={'dynamic': False} is not used" in caplog.text
    assert 'C++ compiler' in caplog.text and 'compile=False' in caplog.text


def test_runner_compiles_when_it_can():
    runner = runner_with(dict(backend='eager'))
    step = runner.model.train_step
    runner._maybe_compile('train_step')
    assert runner.model.train_step != step
    x = torch.randn(3, 2)
    torch.testing.assert_close(runner.model.train_step(x), step(x))
    # compile=False (or absent) leaves the model alone
    runner = runner_with(False)
    step = runner.model.train_step
    runner._maybe_compile('train_step')
    assert runner.model.train_step == step


def test_long_shike_schedules_compile_and_the_quickstart_does_not():
    shike = REPO_ROOT / 'configs/shike'
    compiled = sorted(
        p.relative_to(shike).as_posix() for p in shike.rglob('*.py')
        if Config.fromfile(str(p)).get('compile'))
    assert compiled == sorted([
        'shike_r32_cifar100-lt-r100.py', 'shike_r32_cifar100-lt-r50.py',
        'shike_r32_cifar10-lt-r100.py', 'shike_r32-router_cifar100-lt-r100.py',
        'shike_r32_fashion-mnist-lt-r100-1k_200e.py'
    ] + [
        p.relative_to(shike).as_posix()
        for p in (shike / 'ablations').glob('*.py')
    ])
    assert Config.fromfile(
        str(shike / 'shike_r32_cifar100-lt-r100.py')).compile == dict(
            dynamic=False)
