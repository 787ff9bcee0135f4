# Copyright (c) shike-mm contributors. All rights reserved.
"""The shipped configs, their metafile rows and the parameter / FLOP counter
that the model-index tests share (the counter fixture)."""
import json

import pytest
import yaml
from mmengine.config import Config

from tests.helpers.commands import REPO_ROOT
from tests.helpers.tool_modules import load_tool

FOLDERS = ('configs/shike', 'configs/ride', 'configs/baselines')


CONFIGS = sorted(
    str(p.relative_to(REPO_ROOT)) for folder in FOLDERS
    for p in (REPO_ROOT / folder).rglob('*.py'))


def metafile_models():
    index = yaml.safe_load((REPO_ROOT / 'model-index.yml').read_text())
    models = {}
    for entry in index['Import']:
        meta = yaml.safe_load((REPO_ROOT / entry).read_text())
        for model in meta['Models']:
            assert model['Name'] not in models, model['Name']
            models[model['Name']] = dict(model, metafile=entry)
    return models


MODELS = metafile_models()


@pytest.fixture(scope='module')
def counter():
    """(params, FLOPs) of a config from the project's counter, each
    distinct model counted once."""
    from mmpretrain.registry import MODELS as REGISTRY

    import shike_mm  # noqa: F401
    from shike_mm.analysis.complexity import model_complexity
    flops_tool = load_tool('get_flops')
    cache = {}

    def count(config):
        cfg = Config.fromfile(str(REPO_ROOT / config))
        size, _ = flops_tool.input_size_from_config(cfg)
        model_cfg = cfg.model.to_dict()
        model_cfg['head'].pop('loss', None)  # no parameters, no FLOPs
        key = json.dumps(model_cfg, sort_keys=True, default=str) + str(size)
        if key not in cache:
            model = REGISTRY.build(cfg.model)
            cache[key] = (sum(p.numel() for p in model.parameters()),
                          model_complexity(model, (3, ) + size)['flops'])
        return cache[key]

    return count
