# Copyright (c) shike-mm contributors. All rights reserved.
"""Inductor's cache folder is keyed by the instruction set ATen runs with;
a folder the user chose wins; ``isa_env`` gives a capped process its own."""
import os

from shike_mm.utils.cpu_isa import isa_env
from shike_mm.utils.inductor_cache import (CACHE_DIR_VAR, isa_cache_dir,
                                           key_inductor_cache_by_isa)


def test_folder_per_capability():
    env = {}
    path = key_inductor_cache_by_isa(env, 'AVX2')
    assert env[CACHE_DIR_VAR] == path == isa_cache_dir('AVX2')
    assert path.endswith(os.sep + 'isa-avx2')
    assert isa_cache_dir('AVX512') != path


def test_users_folder_wins():
    env = {CACHE_DIR_VAR: '/somewhere'}
    assert key_inductor_cache_by_isa(env, 'AVX2') == '/somewhere'
    assert env == {CACHE_DIR_VAR: '/somewhere'}


def test_torchs_own_default_is_rekeyed():
    """torch writes its default folder into the environment when it first
    uses the cache: that is not a user's choice."""
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir
    env = {CACHE_DIR_VAR: default_cache_dir()}
    assert key_inductor_cache_by_isa(env, 'AVX2') == isa_cache_dir('AVX2')


def test_running_capability_by_default():
    import torch
    env = {}
    key_inductor_cache_by_isa(env)
    assert env[CACHE_DIR_VAR] == isa_cache_dir(
        torch.backends.cpu.get_cpu_capability())


def test_capped_and_native_processes_get_their_own_folders():
    """A native parent's folder is not handed to the capped child, and a
    capped parent's folder not to a native child."""
    native = {CACHE_DIR_VAR: isa_cache_dir('AVX512')}
    capped = isa_env('avx2', native)
    assert capped[CACHE_DIR_VAR] == isa_cache_dir('AVX2')
    assert CACHE_DIR_VAR not in isa_env('native', capped)
    # re-keying in a process started with another ISA's folder
    env = dict(native)
    key_inductor_cache_by_isa(env, 'AVX2')
    assert env[CACHE_DIR_VAR] == isa_cache_dir('AVX2')
    # a folder the user chose is kept both ways
    mine = {CACHE_DIR_VAR: '/my/cache'}
    assert isa_env('avx2', mine)[CACHE_DIR_VAR] == '/my/cache'
    assert isa_env('native', mine)[CACHE_DIR_VAR] == '/my/cache'
