# Copyright (c) shike-mm contributors. All rights reserved.
"""tools/analysis_tools/get_flops.py takes the input size from the config:
the test pipeline's crop or resize, else the dataset's native image size;
``--shape`` overrides it. Here the whole tool on the quickstart config (in
this process, ``main(argv)``); its parts are in
tests/unit/tools/test_get_flops.py."""
import re


from tests.helpers.inprocess_tools import run_tool

TOOL = 'tools/analysis_tools/get_flops.py'
QUICKSTART = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'


def output(*argv):
    run = run_tool(TOOL, argv)
    assert run.exit_code == 0, run
    return run.output


def test_quickstart_flops_at_28x28_and_the_shape_override():
    out = output(QUICKSTART)
    assert 'Input shape: (3, 28, 28) (test_dataloader: FashionMNISTIDX, ' \
        'native size)' in out
    auto = int(re.search(r'FLOPs \(multiply-adds\): ([\d,]+)',
                         out).group(1).replace(',', ''))
    # 93 M multiply-adds; at 224 x 224 it would be 64 x more (5.93 G)
    assert 50e6 < auto < 200e6
    out = output(QUICKSTART, '--shape', '32')
    assert 'Input shape: (3, 32, 32) (--shape)' in out

    bad = run_tool(TOOL, ['configs/_base_/models/shike_r32_cifar.py'])
    assert bad.exit_code != 0 and 'pass --shape H [W]' in bad.message, bad
