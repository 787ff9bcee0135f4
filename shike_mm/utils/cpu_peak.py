# Copyright (c) shike-mm contributors. All rights reserved.
"""The float32 peak of a CPU, to say how far a measured step is from it.

``peak = cores used x clock x FLOPs per cycle per core``, where

- cores used: the intra-op threads, at most the CPUs this process may run
  on (``os.sched_getaffinity``);
- clock: the highest clock the kernel reports
  (``/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq``, what
  ``lscpu`` prints as "CPU max MHz") when there is one, else ``cpu MHz``
  of ``/proc/cpuinfo`` (in a virtual machine often the nominal clock: a
  core that boosts above it does more than this peak says);
- FLOPs per cycle per core: ``FMA units x float32 lanes x 2`` (a fused
  multiply-add is two FLOPs), from :func:`flops_per_cycle`:

- x86 with AVX2 and FMA, AVX2: 2 FMA units x 8 lanes x 2 = 32;
- AMD Zen 1 (family 0x17, model < 0x30; Hygon family 0x18), AVX2: its
  256-bit ops run on 2 x 128-bit units, 2 x 4 x 2 = 16;
- AMD Zen 4 (family 0x19), AVX-512: its two 256-bit units do one 512-bit
  FMA a cycle, 1 x 16 x 2 = 32 (the same as AVX2);
- AMD EPYC Zen 5 (family 0x1a), AVX-512: 2 x 16 x 2 = 64;
- Intel Xeon Scalable, AVX-512: Platinum, Gold 6xxx, Gold 5122 / 5222 and
  every model from the 3rd generation on (x3xx and later) have 2 FMA
  units, 2 x 16 x 2 = 64; Gold 5xxx, Silver and Bronze of the 1st and 2nd
  generation (x1xx, x2xx) have 1, 1 x 16 x 2 = 32.

Any other CPU with AVX-512 (the number of 512-bit FMA units differs
between models of one family) and any CPU without AVX2 and FMA has no
entry: the peak is then unknown rather than guessed.

The ISA is the one torch's kernels run with
(``torch.backends.cpu.get_cpu_capability()``, e.g. capped to AVX2 by
:mod:`shike_mm.utils.cpu_isa`), not only what the CPU offers.
"""
import os
import re
from dataclasses import dataclass
from typing import Callable, FrozenSet, Optional, Tuple

CPUINFO = '/proc/cpuinfo'
MAX_FREQ = '/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq'

#: float32 values in one vector register
FP32_LANES = {'AVX2': 8, 'AVX512': 16}


@dataclass(frozen=True)
class CpuInfo:
    """What :func:`flops_per_cycle` needs to know of a CPU (the first
    processor of ``/proc/cpuinfo``).

    Args:
        vendor (str): ``vendor_id``, e.g. ``'GenuineIntel'``,
            ``'AuthenticAMD'``.
        family (int): ``cpu family``.
        model (int): ``model``.
        model_name (str): ``model name``.
        flags (frozenset): ``flags``.
        mhz (float, optional): ``cpu MHz``.
    """
    vendor: str
    family: int
    model: int
    model_name: str
    flags: FrozenSet[str]
    mhz: Optional[float] = None

    @classmethod
    def parse(cls, text: str) -> Optional['CpuInfo']:
        """From ``/proc/cpuinfo``'s text; ``None`` when a field is
        missing (e.g. not an x86 CPU)."""
        fields = {}
        for line in text.splitlines():
            if not line.strip():
                if fields:
                    break  # the first processor is enough
                continue
            key, _, value = line.partition(':')
            fields.setdefault(key.strip(), value.strip())
        try:
            return cls(
                vendor=fields['vendor_id'],
                family=int(fields['cpu family']),
                model=int(fields['model']),
                model_name=fields.get('model name', ''),
                flags=frozenset(fields['flags'].split()),
                mhz=float(fields['cpu MHz']) if 'cpu MHz' in fields else None)
        except (KeyError, ValueError):
            return None

    @classmethod
    def read(cls, path: str = CPUINFO) -> Optional['CpuInfo']:
        """:meth:`parse` of ``path``; ``None`` when it cannot be read."""
        try:
            with open(path) as f:
                return cls.parse(f.read())
        except OSError:
            return None


def _xeon_avx512_units(name: str) -> Optional[int]:
    """512-bit FMA units of an Intel Xeon Scalable by its model name."""
    match = re.search(r'Xeon\(R\) (Platinum|Gold|Silver|Bronze) (\d)(\d)\d\d',
                      name)
    if not match:
        return None
    tier, series, generation = match[1], int(match[2]), int(match[3])
    if tier == 'Platinum' or generation >= 3:
        return 2
    if tier == 'Gold' and series >= 6:
        return 2
    if re.search(r'Gold 5[12]22\b', name):
        return 2
    return 1


#: (description, test, FMA units of the vector width) for AVX-512; the
#: first matching row decides
_AVX512_ROWS: Tuple[Tuple[str, Callable[[CpuInfo], bool], Callable[
    [CpuInfo], Optional[int]]], ...] = (
        ('AMD Zen 4 (its two 256-bit units do one 512-bit FMA a cycle)',
         lambda c: c.vendor == 'AuthenticAMD' and c.family == 0x19,
         lambda c: 1),
        ('AMD EPYC Zen 5 (2 x 512-bit units)', lambda c: c.vendor ==
         'AuthenticAMD' and c.family == 0x1a and 'EPYC' in c.model_name,
         lambda c: 2),
        ('Intel Xeon Scalable',
         lambda c: c.vendor == 'GenuineIntel' and 'Xeon' in c.model_name,
         lambda c: _xeon_avx512_units(c.model_name)),
    )


def flops_per_cycle(isa: str,
                    cpu: Optional[CpuInfo]) -> Tuple[Optional[int], str]:
    """float32 FLOPs per cycle and core when torch runs ``isa`` on ``cpu``.

    Args:
        isa (str): ``torch.backends.cpu.get_cpu_capability()``: ``'AVX2'``
            or ``'AVX512'`` have entries, anything else has none.
        cpu (CpuInfo, optional): the CPU; ``None`` when unknown.

    Returns:
        tuple: (FLOPs per cycle or ``None``, how it was derived or why it
        could not be).
    """
    if cpu is None:
        return None, f'{CPUINFO} could not be read'
    if isa not in FP32_LANES:
        return None, f'no entry for the ISA {isa!r}'
    if not {'avx2', 'fma'} <= cpu.flags:
        return None, 'the CPU lacks AVX2 or FMA'
    lanes = FP32_LANES[isa]
    if isa == 'AVX2':
        zen1 = (cpu.vendor == 'AuthenticAMD' and cpu.family == 0x17
                and cpu.model < 0x30) or (cpu.vendor == 'HygonGenuine'
                                          and cpu.family == 0x18)
        if zen1:  # 256-bit ops on 2 x 128-bit units
            return 16, 'AVX2, AMD Zen 1: 2 FMA units x 4 fp32 x 2'
        return 2 * lanes * 2, 'AVX2: 2 FMA units x 8 fp32 x 2'
    for description, test, units_of in _AVX512_ROWS:
        if test(cpu):
            units = units_of(cpu)
            if units is None:
                break
            return units * lanes * 2, (f'AVX-512, {description}: {units} '
                                       f'FMA unit{"s" * (units > 1)} x 16 '
                                       'fp32 x 2')
    return None, (f'AVX-512 FMA units per core not known for '
                  f'{cpu.model_name!r}')


def max_clock_ghz(
        cpu: Optional[CpuInfo],
        max_freq_path: str = MAX_FREQ) -> Tuple[Optional[float], str]:
    """(GHz, where it was read): the kernel's highest clock of CPU 0 when
    there is one, else ``cpu MHz`` of ``/proc/cpuinfo``; ``None`` when
    neither can be read."""
    try:
        with open(max_freq_path) as f:
            khz = int(f.read().strip())
        if khz > 0:
            return khz / 1e6, 'max clock, cpufreq'
    except (OSError, ValueError):
        pass
    if cpu is not None and cpu.mhz:
        return cpu.mhz / 1e3, f'cpu MHz in {CPUINFO}'
    return None, 'no clock in cpufreq or /proc/cpuinfo'


def cores_used(threads: int) -> int:
    """The intra-op threads, at most the CPUs this process may run on."""
    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    return max(1, min(threads, available))


@dataclass(frozen=True)
class CpuPeak:
    """A derived peak, or why there is none.

    Args:
        gflops (float, optional): float32 GFLOP/s; ``None`` when unknown.
        explanation (str): the factors, or why it is unknown.
    """
    gflops: Optional[float]
    explanation: str


def cpu_peak(isa: str,
             threads: int,
             cpu: Optional[CpuInfo] = None,
             clock: Optional[Tuple[Optional[float], str]] = None) -> CpuPeak:
    """The float32 peak of ``threads`` cores running ``isa``.

    Args:
        isa (str): ``torch.backends.cpu.get_cpu_capability()``.
        threads (int): intra-op threads (``torch.get_num_threads()``).
        cpu (CpuInfo, optional): default :meth:`CpuInfo.read`.
        clock (tuple, optional): (GHz, source); default
            :func:`max_clock_ghz`.
    """
    cpu = CpuInfo.read() if cpu is None else cpu
    per_cycle, how = flops_per_cycle(isa, cpu)
    ghz, source = max_clock_ghz(cpu) if clock is None else clock
    if per_cycle is None:
        return CpuPeak(None, how)
    if ghz is None:
        return CpuPeak(None, source)
    cores = cores_used(threads)
    return CpuPeak(
        cores * ghz * per_cycle,
        f'{cores} core{"s" * (cores > 1)} x {ghz:.2f} GHz ({source}) x '
        f'{per_cycle} FLOP/cycle ({how})')
