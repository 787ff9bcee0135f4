# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.utils.cpu_isa: the environment that caps torch's libraries to
AVX2, the re-start command line, the parsing of oneDNN's and MKL's verbose
lines, and (in a child process) that the cap takes effect in ATen, Inductor
and oneDNN. Here the cases that start a process or compile; the in-process
ones are in tests/unit/utils/test_cpu_isa.py."""
import json
import subprocess
import sys

import pytest

from shike_mm.utils import cpu_isa


def cpu_flags():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('flags'):
                    return set(line.split(':', 1)[1].split())
    except OSError:
        pass
    return set()


_CHILD = ('import json\n'
          'from shike_mm.utils import cpu_isa\n'
          'isa = cpu_isa.requested_isa()\n'
          'cpu_isa.apply_inductor_isa(isa)\n'
          'report = cpu_isa.isa_report()\n'
          'cpu_isa.check_isa_report(isa, report)\n'
          'print(json.dumps(report))\n')


@pytest.mark.skipif(not {'avx2', 'fma'} <= cpu_flags(),
                    reason='needs an x86 CPU with AVX2 and FMA')
def test_avx2_cap_takes_effect_in_a_child_process():
    """ATEN_CPU_CAPABILITY=avx2 gives get_cpu_capability() == 'AVX2' (the
    same process would keep its load-time choice), and oneDNN and Inductor
    follow."""
    proc = subprocess.run([sys.executable, '-c', _CHILD],
                          env=cpu_isa.isa_env('avx2'),
                          capture_output=True,
                          text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report['aten'] == 'AVX2'
    assert report['inductor'].endswith('(256-bit)')
    assert 'AVX2' in report['onednn']
