# Copyright (c) shike-mm contributors. All rights reserved.
"""Importing shike_mm silences mmcv-lite's one expected warning (the
compiled op it cannot import) and no other warning."""
import sys

from tests.helpers.commands import check_command

SCRIPT = (
    'import warnings, shike_mm, mmpretrain.models, mmcv.cnn\n'
    "warnings.warn('Fail to import ``SomethingElse`` from mmcv.ops', "
    'UserWarning)\n')


def test_only_the_mmcv_lite_op_warning_is_silenced():
    out = check_command([sys.executable, '-W', 'default', '-c',
                         SCRIPT]).stdout
    assert 'MultiScaleDeformableAttention' not in out
    assert 'SomethingElse' in out  # other warnings still reach the user
