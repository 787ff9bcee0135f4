# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.utils.omp_env and shike_mm.utils.restart: the OpenMP default
the tools start with, never over a user's own choice; a command restarted
under a new environment only when it differs; and the default's effect is
on waiting only: training losses stay bit-identical. The cases that start a
process or compile are in tests/integration/utils/test_omp_env.py."""

import os

import pytest

from shike_mm.utils.omp_env import (OMP_ENV_DEFAULTS, apply_omp_defaults,
                                    describe_wait, omp_env)
from shike_mm.utils.restart import restart_with_env, strip_option


def test_default_is_a_bounded_spin():
    assert OMP_ENV_DEFAULTS == {'GOMP_SPINCOUNT': '30000'}
    assert omp_env({'PATH': '/bin'}) == {
        'PATH': '/bin',
        'GOMP_SPINCOUNT': '30000'
    }
    assert omp_env({'OMP_NUM_THREADS': '2'}) == {
        'OMP_NUM_THREADS': '2',
        'GOMP_SPINCOUNT': '30000'
    }


def test_applied_only_before_torch_loads():
    env = {'PATH': '/bin'}
    assert apply_omp_defaults(env, modules={'os': os}) == OMP_ENV_DEFAULTS
    assert env == {'PATH': '/bin', 'GOMP_SPINCOUNT': '30000'}
    # libgomp has read its setting already: nothing to gain, nothing set
    env = {'PATH': '/bin'}
    assert apply_omp_defaults(env, modules={'torch': object()}) == {}
    assert env == {'PATH': '/bin'}
    # the user's choice stands
    env = {'OMP_WAIT_POLICY': 'PASSIVE'}
    assert apply_omp_defaults(env, modules={}) == {}
    assert env == {'OMP_WAIT_POLICY': 'PASSIVE'}


def test_describe_wait():
    assert describe_wait({'GOMP_SPINCOUNT': '30000'}) == (
        'GOMP_SPINCOUNT=30000, OMP_WAIT_POLICY=(unset), '
        'OMP_NUM_THREADS=(unset)')


@pytest.mark.parametrize(
    'user',
    [
        {
            'OMP_WAIT_POLICY': 'ACTIVE'
        },
        {
            'OMP_WAIT_POLICY': 'passive'
        },
        {
            'GOMP_SPINCOUNT': '300000'
        },  # libgomp's own default
        {
            'KMP_BLOCKTIME': '200'
        },
        {
            'OMP_NUM_THREADS': '1'
        },  # one thread: nothing waits
    ])
def test_a_users_choice_is_kept(user):
    assert omp_env(user) == user


def test_env_does_not_change_its_input():
    source = {'PATH': '/bin'}
    omp_env(source)
    assert source == {'PATH': '/bin'}


@pytest.mark.parametrize('argv, expected', [
    (['tools/benchmark.py', 'c.py', '--isa', 'avx2', '--iters', '3'
      ], ['tools/benchmark.py', 'c.py', '--iters', '3']),
    (['tools/benchmark.py', '--isa=avx2', 'c.py'
      ], ['tools/benchmark.py', 'c.py']),
    (['-u', 'tools/benchmark.py', 'c.py'
      ], ['-u', 'tools/benchmark.py', 'c.py']),
])
def test_strip_option(argv, expected):
    assert strip_option(argv, '--isa') == expected


def test_restart_with_the_same_env_returns():
    import os
    restart_with_env(dict(os.environ))  # would replace pytest otherwise
