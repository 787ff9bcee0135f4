# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.utils.cpu_isa: the environment that caps torch's libraries to
AVX2, the re-start command line, the parsing of oneDNN's and MKL's verbose
lines, and (in a child process) that the cap takes effect in ATen, Inductor
and oneDNN. The cases that start a process or compile are in
tests/integration/utils/test_cpu_isa.py."""

import pytest

from shike_mm.utils import cpu_isa
from shike_mm.utils.inductor_cache import isa_cache_dir

AVX2_VARS = {
    'ATEN_CPU_CAPABILITY': 'avx2',
    'ONEDNN_MAX_CPU_ISA': 'AVX2',
    'DNNL_MAX_CPU_ISA': 'AVX2',
    'MKL_ENABLE_INSTRUCTIONS': 'AVX2',
}


def test_avx2_env_sets_every_library_and_the_marker():
    env = cpu_isa.isa_env('avx2', {
        'PATH': '/bin',
        'ATEN_CPU_CAPABILITY': 'avx512'
    })
    assert env == {
        'PATH': '/bin',
        cpu_isa.MARKER: 'avx2',
        **AVX2_VARS, 'TORCHINDUCTOR_CACHE_DIR': isa_cache_dir('AVX2')
    }


def test_native_env_removes_every_cap():
    env = cpu_isa.isa_env('native', {'PATH': '/bin', **AVX2_VARS})
    assert env == {'PATH': '/bin', cpu_isa.MARKER: 'native'}


def test_env_does_not_change_its_input():
    source = {'PATH': '/bin'}
    cpu_isa.isa_env('avx2', source)
    assert source == {'PATH': '/bin'}


def test_unknown_isa_is_named():
    with pytest.raises(ValueError, match=r"unknown ISA 'sse2'.*native, avx2"):
        cpu_isa.isa_env('sse2', {})
    with pytest.raises(ValueError, match="unknown ISA 'x'"):
        cpu_isa.requested_isa({cpu_isa.MARKER: 'x'})


def test_requested_isa_reads_the_marker():
    assert cpu_isa.requested_isa({}) == 'native'
    assert cpu_isa.requested_isa({cpu_isa.MARKER: 'avx2'}) == 'avx2'


def test_parse_onednn_line():
    text = ('onednn_verbose,v1,info,oneDNN v3.12.0 (commit 80afa71)\n'
            'onednn_verbose,v1,info,cpu,runtime:OpenMP,nthr:2\n'
            'onednn_verbose,v1,info,cpu,isa:Intel AVX2\n'
            'onednn_verbose,v1,info,gpu,runtime:none\n')
    assert cpu_isa.parse_onednn_isa(text) == 'Intel AVX2'
    assert cpu_isa.parse_onednn_isa('nothing here') is None


def test_parse_mkl_banner():
    amd = ('MKL_VERBOSE oneMKL 2024.0 Update 2 Product build 20240605 for '
           'Intel(R) 64 architecture Intel(R) Architecture processors, Lnx '
           '2.60GHz lp64 gnu_thread\n'
           'MKL_VERBOSE SGEMM(N,N,64,64,64,...) 11.30ms CNR:OFF\n')
    assert cpu_isa.parse_mkl_isa(amd) == 'Intel(R) Architecture processors'
    intel = ('MKL_VERBOSE oneMKL 2024.0 Product build 20240605 for Intel(R) '
             '64 architecture Intel(R) Advanced Vector Extensions 2 (Intel(R)'
             ' AVX2) enabled processors, Lnx 3.00GHz lp64 gnu_thread\n')
    assert cpu_isa.parse_mkl_isa(intel) == (
        'Intel(R) Advanced Vector Extensions 2 (Intel(R) AVX2) enabled '
        'processors')
    assert cpu_isa.parse_mkl_isa('') is None


def test_check_names_the_library_that_ignored_the_cap():
    good = dict(aten='AVX2',
                inductor='avx2 (256-bit)',
                onednn='Intel AVX2',
                mkl=None)
    cpu_isa.check_isa_report('avx2', good)
    cpu_isa.check_isa_report('native', dict(aten='AVX512'))
    # a torch without oneDNN has nothing to cap there
    cpu_isa.check_isa_report('avx2', {**good, 'onednn': 'not built'})
    with pytest.raises(RuntimeError, match=r"ATen reports 'AVX512'"):
        cpu_isa.check_isa_report('avx2', {**good, 'aten': 'AVX512'})
    with pytest.raises(RuntimeError, match=r'oneDNN reports .*AVX-512'):
        cpu_isa.check_isa_report(
            'avx2', {
                **good, 'onednn': 'Intel AVX-512 with Intel DL Boost'
            })
    with pytest.raises(RuntimeError, match=r'Inductor reports .*512-bit'):
        cpu_isa.check_isa_report('avx2', {
            **good, 'inductor': 'avx512 (512-bit)'
        })


def test_format_line():
    line = cpu_isa.format_isa_report(
        'avx2',
        dict(aten='AVX2',
             inductor='avx2 (256-bit)',
             onednn='Intel AVX2',
             mkl=None))
    assert line == ('isa: requested avx2; ATen AVX2, Inductor avx2 (256-bit)'
                    ', oneDNN Intel AVX2, MKL unknown')
