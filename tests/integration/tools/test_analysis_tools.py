# Copyright (c) shike-mm contributors. All rights reserved.
"""The analysis tools (tools/analysis_tools/{per_class_accuracy,
expert_preference,hardest_negative,plot_curves}.py).

Numbers: the tables each tool prints are compared with an independent
computation, written here with plain loops, from the same logits. Logits:
synthetic ones with known structure (passed in-process), and those of tiny
random-weight checkpoints (a SHIKE ResNet-20 with 3 experts and an
mmpretrain ResNet + LinearClsHead) on generated Fashion-MNIST-format data,
recomputed here expert by expert from the state dict's classifiers.
Here the tools on checkpoints (in this process, ``main(argv)``); on logits
passed in, in tests/unit/tools/test_analysis_tools.py."""

import pytest

from tests.helpers.analysis_models import (TINY_COUNTS, as_float, parse_table,
                                           ref_per_class, reference_logits,
                                           tiny_checkpoints)
from tests.helpers.inprocess_tools import run_tool

TOOLS = 'tools/analysis_tools'


@pytest.fixture(scope='module')
def tiny(tmp_path_factory):
    """Configs and random-weight checkpoints (``tiny_checkpoints``)."""
    return tiny_checkpoints(tmp_path_factory.mktemp('analysis'))


def test_per_class_command_on_checkpoints(tiny, tmp_path):
    import matplotlib.pyplot as plt
    cfg, ckpt = tiny['shike']
    base_cfg, base_ckpt = tiny['baseline']
    out = tmp_path / 'pc.png'
    run = run_tool(f'{TOOLS}/per_class_accuracy.py', [
        cfg, ckpt, '--per-expert', '--compare', base_ckpt,
        '--compare-config', base_cfg, '--names', 'SHIKE', 'base', '--device',
        'cpu', '--out', out])
    assert run.exit_code == 0, run
    plt.close(run.returned[0])
    assert out.stat().st_size > 1000
    rows = parse_table(run.output, 'Per-class top-1 accuracy')
    assert rows[0][3:] == ['SHIKE expert 1', 'SHIKE expert 2',
                           'SHIKE expert 3', 'SHIKE best expert', 'SHIKE',
                           'base']
    experts, ensemble, labels = reference_logits(cfg, ckpt)
    _, base, _ = reference_logits(base_cfg, base_ckpt)
    refs = [ref_per_class(z, labels, 10) for z in experts]
    refs.append([max(col) for col in zip(*refs)])
    refs += [ref_per_class(ensemble, labels, 10),
             ref_per_class(base, labels, 10)]
    for r in rows[1:]:
        c = int(r[0].split()[0])
        assert as_float(r[1]) == TINY_COUNTS[c]
        for s, ref in enumerate(refs):
            assert as_float(r[3 + s]) == pytest.approx(ref[c], abs=0.005)

    bad = run_tool(f'{TOOLS}/expert_preference.py',
                   [base_cfg, base_ckpt, '--out', tmp_path / 'ep.png'])
    assert bad.exit_code != 0, bad
    assert 'LinearClsHead' in bad.message, bad
    assert not (tmp_path / 'ep.png').exists()
