# Copyright (c) shike-mm contributors. All rights reserved.
"""The competing load of tools/benchmarks/load_slowdown.py: busy processes
that run for the block and are gone after it (also after an exception),
and that stop by themselves at their time bound; the OpenMP settings the
script compares."""
import importlib.util
import os
import time

import pytest

from shike_mm.testing.competing_load import competing_load
from shike_mm.utils.omp_env import OMP_ENV_DEFAULTS


def alive(pid):
    try:
        with open(f'/proc/{pid}/stat') as f:
            state = f.read().rsplit(')', 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state not in ('Z', 'X')


def cpu_seconds(pid):
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


pytestmark = pytest.mark.skipif(not os.path.isdir('/proc/self'),
                                reason='reads /proc')


def test_busy_while_the_block_runs_and_gone_after():
    with competing_load(1, max_seconds=60) as pids:
        assert len(pids) == 1 and alive(pids[0])
        time.sleep(1.0)
        assert cpu_seconds(pids[0]) > 0.05  # it computes, not sleeps
    assert not alive(pids[0])


def test_stopped_on_an_exception():
    with pytest.raises(RuntimeError, match='measurement failed'):
        with competing_load(2, max_seconds=60) as pids:
            assert all(alive(pid) for pid in pids)
            raise RuntimeError('measurement failed')
    assert not any(alive(pid) for pid in pids)


def test_bounded_by_time_on_its_own():
    with competing_load(1, max_seconds=0.3) as pids:
        deadline = time.monotonic() + 30
        while alive(pids[0]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pids[0])


def test_no_load_and_bad_count():
    with competing_load(0) as pids:
        assert pids == []
    with pytest.raises(ValueError, match='num_procs must be >= 0, got -1'):
        with competing_load(-1):
            pass


def test_the_script_compares_spinning_and_passive_waiting(monkeypatch):
    spec = importlib.util.spec_from_file_location(
        'load_slowdown_under_test', 'tools/benchmarks/load_slowdown.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setenv('OMP_WAIT_POLICY', 'ACTIVE')
    monkeypatch.setenv('OMP_NUM_THREADS', '2')
    spin = module.policy_env('spin')
    assert spin['GOMP_SPINCOUNT'] == '300000'  # GNU OpenMP's own default
    assert not {'OMP_WAIT_POLICY', 'KMP_BLOCKTIME'} & set(spin)
    passive = module.policy_env('passive')
    assert passive['OMP_WAIT_POLICY'] == 'PASSIVE'
    assert not {'GOMP_SPINCOUNT', 'KMP_BLOCKTIME'} & set(passive)
    # what the tools run with, the user's ACTIVE dropped for the comparison
    default = module.policy_env('default')
    assert default['GOMP_SPINCOUNT'] == OMP_ENV_DEFAULTS['GOMP_SPINCOUNT']
    assert 'OMP_WAIT_POLICY' not in default
    bounded = module.policy_env('spincount:10000')
    assert bounded['GOMP_SPINCOUNT'] == '10000'
    assert not {'OMP_WAIT_POLICY', 'KMP_BLOCKTIME'} & set(bounded)
    assert module.parse_args([]).policies == ['spin', 'passive', 'default']
    assert module.parse_args(
        ['--policies', 'spin', 'spincount:0']).policies == [
            'spin', 'spincount:0']
    for bad in ('spincount', 'spincount:-1', 'spincount:x', 'sleep'):
        with pytest.raises(SystemExit):
            module.parse_args(['--policies', bad])
