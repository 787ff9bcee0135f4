# Copyright (c) shike-mm contributors. All rights reserved.
"""The model index: every config is in it under its file name, mmpretrain's
model hub knows each one after ``import shike_mm`` (``list_models``,
``get_model``), each has a result of task ``Image Classification`` (what
``inference_model`` looks up), and the parameters and FLOPs of the
metafiles and of the zoo tables are what the counter prints."""
import re
from pathlib import Path

import pytest

from tests.helpers.commands import REPO_ROOT
from tests.helpers.zoo_counters import CONFIGS, MODELS


def format_params(params):
    return f'{params / 1e6:.2f} M'


def format_flops(flops):
    return f'{flops / 1e9:.2f} G' if flops >= 1e9 else f'{flops / 1e6:.1f} M'


def table_cells(readme, config_name):
    """Header -> cell of the one table row that links ``config_name``."""
    header = None
    for line in readme.splitlines():
        if not line.startswith('|'):
            header = None
            continue
        cells = [c.strip() for c in line.strip('|').split('|')]
        if header is None:
            header = cells
        elif f'({config_name})' in line:
            return dict(zip(header, cells))
    return None


# Counting a 224x224 multi-expert ResNet takes tens of seconds on a CPU.
IMAGENET_SCALE = ('imagenet-lt', 'inat2018', 'places-lt')


@pytest.mark.parametrize('config', [
    pytest.param(c, marks=pytest.mark.slow)
    if any(k in c for k in IMAGENET_SCALE) else c for c in CONFIGS
])
def test_metafile_and_zoo_counts_are_the_counters(config, counter):
    params, flops = counter(config)
    model = MODELS[Path(config).stem]
    assert model['Metadata']['Parameters'] == params
    assert model['Metadata']['FLOPs'] == flops
    readme = (REPO_ROOT / Path(config).parent / 'README.md')
    if not readme.is_file():
        return  # configs/shike/ablations: in the metafile only
    cells = table_cells(readme.read_text(), Path(config).name)
    if cells is None or 'params' not in cells:
        return  # not a row of a zoo table
    assert cells['params'] == format_params(params)
    assert re.match(re.escape(format_flops(flops)) + r'( |$)',
                    cells['FLOPs']), cells['FLOPs']
