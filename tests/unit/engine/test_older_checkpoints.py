# Copyright (c) shike-mm contributors. All rights reserved.
"""Checkpoints written before the class counts were stored once (in
``meta['class_counts']``) hold the buffers a loss derives from them
(``head.retrain_loss_module.log_prior``); they still load strictly, and a
stale buffer never replaces the one the model derived from its counts."""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope

from shike_mm.engine.checkpoint import load_checkpoint_into
from tests.helpers.commands import REPO_ROOT

QUICK = REPO_ROOT / 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
STALE_KEY = 'head.retrain_loss_module.log_prior'


def build_model():
    from mmpretrain.registry import MODELS

    import shike_mm  # noqa: F401
    init_default_scope('mmpretrain')
    torch.manual_seed(0)
    return MODELS.build(Config.fromfile(str(QUICK)).model)


def old_checkpoint(tmp_path, model):
    """``model``'s weights plus the derived buffer, as older runs saved
    them (its values: a log prior of other counts)."""
    state = dict(model.state_dict())
    assert STALE_KEY not in state  # today's checkpoints leave it out
    state[STALE_KEY] = torch.log(torch.full((10, ), 0.1, dtype=torch.float64))
    path = tmp_path / 'old.pth'
    torch.save({'state_dict': state, 'meta': {}}, path)
    return path


def test_an_older_checkpoint_loads_into_a_model_without_counts(tmp_path):
    source = build_model()
    path = old_checkpoint(tmp_path, source)
    target = build_model()
    with torch.no_grad():
        for p in target.parameters():
            p.zero_()
    load_checkpoint_into(target, str(path))
    for (name, a), b in zip(source.state_dict().items(),
                            target.state_dict().values()):
        assert torch.equal(a, b), name
    assert target.head.retrain_loss_module.log_prior is None


def test_the_models_own_counts_win_over_a_stale_buffer(tmp_path):
    path = old_checkpoint(tmp_path, build_model())
    target = build_model()
    counts = [1000, 500, 250, 120, 60, 30, 15, 8, 4, 2]
    loss = target.head.retrain_loss_module
    loss.set_class_counts(counts)
    derived = loss.log_prior.clone()
    assert derived[0].item() - derived[-1].item() == pytest.approx(
        math.log(1000 / 2), rel=1e-12)
    load_checkpoint_into(target, str(path))
    assert torch.equal(loss.log_prior, derived)
