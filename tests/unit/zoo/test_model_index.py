# Copyright (c) shike-mm contributors. All rights reserved.
"""The model index: every config is in it under its file name, mmpretrain's
model hub knows each one after ``import shike_mm`` (``list_models``,
``get_model``), each has a result of task ``Image Classification`` (what
``inference_model`` looks up), and the parameters and FLOPs of the
metafiles and of the zoo tables are what the counter prints."""
from pathlib import Path

import pytest
from mmengine.config import Config

from tests.helpers.commands import REPO_ROOT
from tests.helpers.zoo_counters import CONFIGS, MODELS

# Models small enough to build and run on a CPU in a test.
SMALL = ('_r32', )


def test_every_config_is_in_the_index_under_its_name():
    assert {m['Config'] for m in MODELS.values()} == set(CONFIGS)
    for name, model in MODELS.items():
        assert Path(model['Config']).stem == name
        folder = Path(model['Config']).parent
        if folder.name in ('ablations', 'recipe'):
            folder = folder.parent
        assert Path(model['metafile']).parent == folder, name


def test_every_model_is_an_image_classifier():
    for name, model in MODELS.items():
        tasks = {r['Task'] for r in model['Results']}
        assert tasks == {'Image Classification'}, name
        for result in model['Results']:
            assert result['Dataset'], name
            # a number is either the paper's (marked) or none
            assert set(result['Metrics']) <= {'Top 1 Accuracy (paper)'}


def test_model_hub_lists_every_model_after_import():
    import mmpretrain

    import shike_mm  # noqa: F401
    from shike_mm.apis import register_model_index

    # registering again is a no-op
    assert register_model_index() == REPO_ROOT / 'model-index.yml'
    listed = set(mmpretrain.list_models('*_r*', task='Image Classification'))
    assert set(MODELS) <= listed
    assert set(mmpretrain.list_models('shike*')) == {
        n for n in MODELS if n.startswith('shike')}


@pytest.mark.parametrize('name', sorted(MODELS))
def test_get_model_builds_each_indexed_model(name):
    import mmpretrain
    import torch

    import shike_mm  # noqa: F401
    model = mmpretrain.get_model(name)
    cfg = Config.fromfile(str(REPO_ROOT / MODELS[name]['Config']))
    params = sum(p.numel() for p in model.parameters())
    assert params == MODELS[name]['Metadata']['Parameters']
    assert model._metainfo.name == name
    if any(s in name for s in SMALL):  # forward only on the small ones
        size = 28 if 'fashion' in name else 32
        with torch.no_grad():
            logits = model(torch.zeros(2, 3, size, size))
        assert logits.shape == (2, cfg.model.head.num_classes)
