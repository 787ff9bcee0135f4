# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.utils.omp_env and shike_mm.utils.restart: the OpenMP default
the tools start with, never over a user's own choice; a command restarted
under a new environment only when it differs; and the default's effect is
on waiting only: training losses stay bit-identical. Here the cases that
start a process or compile; the in-process ones are in
tests/unit/utils/test_omp_env.py."""
import os
import subprocess
import sys

import pytest

from shike_mm.utils.omp_env import WAIT_SETTINGS


def _without_wait_settings():
    """This environment without any OpenMP wait setting or thread count,
    as a user who set none starts a command."""
    return {
        k: v
        for k, v in os.environ.items()
        if k not in WAIT_SETTINGS + ('OMP_NUM_THREADS', )
    }


_RESTART = '''
import os, sys
from shike_mm.utils.restart import restart_with_env
print('start', os.environ.get('PROBE'), sys.argv[1:], flush=True)
restart_with_env({**os.environ, 'PROBE': 'set'}, drop_option='--drop')
print('carry on', os.environ.get('PROBE'), sys.argv[1:])
'''


def _run(env, tmp_path):
    script = tmp_path / 'restart_probe.py'
    script.write_text(_RESTART)
    base = {
        k: v
        for k, v in os.environ.items()
        if k != 'PROBE'
    }
    proc = subprocess.run(
        [sys.executable, str(script), 'a', '--drop', 'x', 'b'],
        env={
            **base,
            **env
        },
        capture_output=True,
        text=True,
        timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.splitlines()


def test_restart_sets_the_environment_once(tmp_path):
    assert _run({}, tmp_path) == [
        "start None ['a', '--drop', 'x', 'b']",
        "start set ['a', 'b']",
        "carry on set ['a', 'b']",
    ]


def test_no_restart_when_the_env_is_in_place(tmp_path):
    assert _run({'PROBE': 'set'}, tmp_path) == [
        "start set ['a', '--drop', 'x', 'b']",
        "carry on set ['a', '--drop', 'x', 'b']",
    ]


_CHANGING = '''
import os, sys, time
from shike_mm.utils.restart import restart_with_env
print('start', flush=True)
restart_with_env({**os.environ, 'CHANGING': repr(time.monotonic())})
print('carry on')
'''


def test_restarts_at_most_once(tmp_path):
    """A wanted environment that differs every time restarts once, not in
    a loop."""
    script = tmp_path / 'changing.py'
    script.write_text(_CHANGING)
    proc = subprocess.run([sys.executable, str(script)],
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.splitlines() == ['start', 'start', 'carry on']


_LOSSES = '''
import torch
torch.set_num_threads(2)
torch.manual_seed(0)
net = torch.nn.Sequential(
    torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.BatchNorm2d(16),
    torch.nn.ReLU(), torch.nn.Conv2d(16, 32, 3, padding=1),
    torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(32, 10))
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
x = torch.randn(64, 3, 32, 32)
y = torch.randint(0, 10, (64,))
for _ in range(4):
    loss = torch.nn.functional.cross_entropy(net(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(loss.item().hex())
'''


@pytest.mark.parametrize('setting', [{
    'OMP_WAIT_POLICY': 'PASSIVE'
}, {
    'OMP_WAIT_POLICY': 'ACTIVE'
}, {
    'GOMP_SPINCOUNT': '30000'
}])
def test_wait_setting_leaves_losses_bit_identical(setting):
    """Two threads, convolutions, batch norm, SGD with momentum: the
    per-step losses with a wait setting (shike-mm's bounded spin among
    them) equal those with libgomp's default to the last bit."""
    base = _without_wait_settings()

    def losses(env):
        proc = subprocess.run([sys.executable, '-c', _LOSSES],
                              env=env,
                              capture_output=True,
                              text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return proc.stdout.split()

    default = losses(base)
    assert len(default) == 4 and len(set(default)) == 4
    assert losses({**base, **setting}) == default


_PROBE = '''
import os, sys
seen = []
sys.addaudithook(lambda event, args: event == 'import' and args[0] in (
    'torch', 'shike_mm') and args[0] not in seen and seen.append(args[0]))
import runpy
sys.argv = [sys.argv[1], '--help']
try:
    runpy.run_path(sys.argv[0], run_name='__main__')
except SystemExit:
    pass
print('ORDER', *seen)
print('GOMP_SPINCOUNT', os.environ.get('GOMP_SPINCOUNT'))
'''


@pytest.mark.parametrize('tool', [
    'tools/train.py', 'tools/test.py', 'tools/compare.py',
    'tools/benchmark.py', 'tools/reference_train.py'
])
def test_training_tools_set_the_wait_before_torch_loads(tool):
    """Each tool that trains or times training imports shike_mm before
    torch, so the bounded spin reaches libgomp when it loads."""
    base = _without_wait_settings()
    proc = subprocess.run([sys.executable, '-c', _PROBE, tool],
                          env=base,
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines()
             if line.startswith(('ORDER', 'GOMP_SPINCOUNT'))]
    assert lines == ['ORDER shike_mm torch', 'GOMP_SPINCOUNT 30000']
