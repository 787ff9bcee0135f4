# Copyright (c) shike-mm contributors. All rights reserved.
"""``compile`` in a config: whether this machine can honour it
(:func:`compile_unavailable`), and the runner (through :class:`CompileHook`)
training uncompiled, with a warning, when it cannot. Which configs compile
by default. Here the cases that start a process or compile; the in-process
ones are in tests/unit/engine/test_compile_support.py."""
import copy
import logging
import shutil
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapper

from shike_mm.engine.hooks.compile_hook import CompileHook
from shike_mm.utils.compile_support import compile_unavailable
from tests.helpers.commands import REPO_ROOT
from tests.helpers.compile_fakes import compile_step, runner_with


def test_cpp_compiler_found_when_installed():
    problem = compile_unavailable(True, on_gpu=False)
    if shutil.which('g++'):
        assert problem is None
    else:
        assert 'C++ compiler' in problem


def test_runner_compiles_when_it_can():
    runner = runner_with(dict(backend='eager'))
    step = runner.model.train_step
    compile_step(runner)
    assert runner.model.train_step != step
    x = torch.randn(3, 2)
    torch.testing.assert_close(runner.model.train_step(x), step(x))
    # compile=False (or absent) leaves the model alone
    runner = runner_with(False)
    step = runner.model.train_step
    compile_step(runner)
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


class TinyClassifier(BaseModel):
    """A BaseModel with mmengine's own train_step (preprocess, loss
    forward, parse_losses, ``optim_wrapper.update_params``)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        x = self.bn(self.conv(inputs)).relu().mean((2, 3))
        logits = self.fc(x)
        if mode == 'loss':
            return dict(
                loss_ce=F.cross_entropy(logits, data_samples),
                loss_l2=logits.pow(2).mean() * 0.01)
        return logits


def test_compiled_train_step_does_not_recompile():
    """The runner's compiled train_step compiles once for a batch shape and
    then keeps running that graph across optimizer-wrapper steps (counter
    set up by the runner, no gradient accumulation): compiling mmengine's
    whole train_step with dynamic=False recompiled it on every step
    (``OptimWrapper._inner_count`` guarded as a constant) until
    Dynamo's recompile limit."""
    from torch._dynamo.utils import counters
    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    runner = SimpleNamespace(
        model=TinyClassifier(),
        logger=logging.getLogger('compile-support-test'))
    # aot_eager traces and partitions forward and backward like Inductor
    # (same guards, same recompiles) without generating C++
    hook = CompileHook(dict(dynamic=False, backend='aot_eager'))
    wrapper = OptimWrapper(
        torch.optim.SGD(runner.model.parameters(), lr=0.1, momentum=0.9))
    assert wrapper._accumulative_counts == 1
    wrapper.initialize_count_status(runner.model, 0, 100)  # as the loop does
    reference = copy.deepcopy(runner.model)
    ref_wrapper = OptimWrapper(
        torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9))
    ref_wrapper.initialize_count_status(reference, 0, 100)
    hook.before_train(runner)

    graphs = []
    for step in range(6):
        data = dict(
            inputs=torch.randn(8, 3, 6, 6),
            data_samples=torch.randint(0, 5, (8, )))
        log_vars = runner.model.train_step(data, wrapper)
        ref_log_vars = reference.train_step(data, ref_wrapper)
        graphs.append(counters['stats']['unique_graphs'])
        torch.testing.assert_close(log_vars['loss'], ref_log_vars['loss'])
    assert wrapper.inner_count == 6
    assert graphs[0] > 0
    assert graphs[1:] == [graphs[0]] * 5, (
        f'compiled graphs after each step: {graphs}')
    for name, param in reference.named_parameters():
        torch.testing.assert_close(
            runner.model.get_parameter(name), param, msg=name)
