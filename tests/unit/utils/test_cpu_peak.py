# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.utils.cpu_peak: FLOPs per cycle by ISA and CPU from the
documented table, the clock's source, and an unknown peak where the table
or the clock has nothing to say."""
import pytest

from shike_mm.utils.cpu_peak import (CpuInfo, cores_used, cpu_peak,
                                     flops_per_cycle, max_clock_ghz)

GENOA = """processor\t: 0
vendor_id\t: AuthenticAMD
cpu family\t: 25
model\t\t: 17
model name\t: AMD EPYC
cpu MHz\t\t: 2596.142
flags\t\t: fpu sse2 fma avx avx2 avx512f avx512dq

processor\t: 1
vendor_id\t: AuthenticAMD
"""


def cpu(vendor='GenuineIntel',
        family=6,
        model=85,
        name='',
        flags=('avx2', 'fma', 'avx512f'),
        mhz=2000.0):
    return CpuInfo(vendor, family, model, name, frozenset(flags), mhz)


def test_parse_reads_the_first_processor():
    info = CpuInfo.parse(GENOA)
    assert info == CpuInfo(
        'AuthenticAMD', 25, 17, 'AMD EPYC',
        frozenset('fpu sse2 fma avx avx2 avx512f '
                  'avx512dq'.split()), 2596.142)


def test_parse_without_x86_fields_is_none():
    assert CpuInfo.parse('processor\t: 0\nBogoMIPS\t: 50.00\n') is None
    assert CpuInfo.read('/nonexistent/cpuinfo') is None


@pytest.mark.parametrize(
    'isa, info, expected',
    [
        # AVX2 + FMA: 2 FMA units x 8 fp32 lanes x 2
        ('AVX2', cpu(name='Intel(R) Core(TM) i7-4770'), 32),
        ('AVX2', CpuInfo.parse(GENOA), 32),
        # Zen 1 runs 256-bit ops on 128-bit units
        ('AVX2', cpu('AuthenticAMD', 23, 1, 'AMD EPYC 7601'), 16),
        ('AVX2', cpu('AuthenticAMD', 23, 49, 'AMD EPYC 7742'), 32),
        # Zen 4: one 512-bit FMA a cycle, as much as AVX2
        ('AVX512', CpuInfo.parse(GENOA), 32),
        ('AVX512', cpu('AuthenticAMD', 26, 2, 'AMD EPYC 9755'), 64),
        # Xeon Scalable: 2 units on Platinum / Gold 6 / 3rd gen on, else 1
        ('AVX512', cpu(name='Intel(R) Xeon(R) Platinum 8175M CPU'), 64),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Gold 6248 CPU'), 64),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Gold 5122 CPU'), 64),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Gold 5218 CPU'), 32),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Silver 4114 CPU'), 32),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Silver 4314 CPU'), 64),
        ('AVX512', cpu(name='Intel(R) Xeon(R) Platinum 8480+'), 64),
    ])
def test_flops_per_cycle_table(isa, info, expected):
    value, how = flops_per_cycle(isa, info)
    assert value == expected, how


@pytest.mark.parametrize('isa, info, reason', [
    ('AVX512', cpu(name='Intel Xeon Processor (Cascadelake)'),
     'FMA units per core not known'),
    ('AVX512', cpu(name='11th Gen Intel(R) Core(TM) i7-1185G7'),
     'FMA units per core not known'),
    ('AVX512', cpu('AuthenticAMD', 26, 36,
                   'AMD Ryzen AI 9 HX 370'), 'FMA units per core not known'),
    ('DEFAULT', cpu(), "no entry for the ISA 'DEFAULT'"),
    ('AVX2', cpu(flags=('avx', )), 'lacks AVX2 or FMA'),
    ('AVX2', None, 'could not be read'),
])
def test_no_entry_means_unknown(isa, info, reason):
    value, how = flops_per_cycle(isa, info)
    assert value is None and reason in how


def test_clock_prefers_the_max_clock(tmp_path):
    path = tmp_path / 'cpuinfo_max_freq'
    path.write_text('3700000\n')
    assert max_clock_ghz(cpu(mhz=2596.0),
                         str(path)) == (3.7, 'max clock, cpufreq')
    missing = str(tmp_path / 'none')
    assert max_clock_ghz(cpu(mhz=2596.0),
                         missing) == (2.596, 'cpu MHz in /proc/cpuinfo')
    assert max_clock_ghz(cpu(mhz=None), missing)[0] is None


def test_peak_is_cores_times_clock_times_flops_per_cycle():
    peak = cpu_peak('AVX2', 1, CpuInfo.parse(GENOA), (2.5, 'test clock'))
    assert peak.gflops == pytest.approx(1 * 2.5 * 32)
    assert peak.explanation == ('1 core x 2.50 GHz (test clock) x 32 '
                                'FLOP/cycle (AVX2: 2 FMA units x 8 fp32 x 2)')


def test_peak_unknown_without_clock_or_entry():
    no_clock = cpu_peak('AVX2', 1, CpuInfo.parse(GENOA), (None, 'no clock'))
    assert no_clock.gflops is None and no_clock.explanation == 'no clock'
    no_entry = cpu_peak('AVX512', 1, cpu(name='Intel Xeon Processor'),
                        (2.0, 'x'))
    assert no_entry.gflops is None


def test_cores_used_is_bounded_by_the_affinity():
    import os
    available = len(os.sched_getaffinity(0))
    assert cores_used(available + 10) == available
    assert cores_used(1) == 1
    assert cores_used(0) == 1
