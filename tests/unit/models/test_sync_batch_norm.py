# Copyright (c) shike-mm contributors. All rights reserved.
"""SyncBatchNorm2d ('SyncBNAnyDevice'): BatchNorm2d in one process, the
global batch's BatchNorm2d (forward, gradients, running statistics) over
2 CPU processes on gloo with unequal per-rank batches. The cases that start
a process or compile are in
tests/integration/models/test_sync_batch_norm.py."""
import os.path as osp

import pytest
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmengine.config import Config
from mmpretrain.registry import MODELS
from torch.nn.modules.batchnorm import _BatchNorm

from shike_mm.models.utils import SyncBatchNorm2d
from tests.helpers.commands import REPO_ROOT
from tests.helpers.sync_bn_steps import C, init_like, make_data, run_steps

CONFIG = osp.join(
    str(REPO_ROOT), 'configs',
    '_base_', 'models', 'shike_r32_cifar.py')


@pytest.mark.parametrize('momentum', [0.1, None])
def test_single_process_is_batchnorm2d(momentum):
    xs, grads = make_data(torch.float32)
    ref = init_like(nn.BatchNorm2d(C, momentum=momentum))
    bn = init_like(SyncBatchNorm2d(C, momentum=momentum))
    expected = run_steps(ref, xs, grads)
    got = run_steps(bn, xs, grads)
    for e, g in zip(expected, got):
        for a, b in zip(e if isinstance(e, list) else [e],
                        g if isinstance(g, list) else [g]):
            assert torch.equal(a, b)
    for name, buf in ref.named_buffers():
        assert torch.equal(buf, dict(bn.named_buffers())[name]), name
    ref.eval()
    bn.eval()
    assert torch.equal(ref(xs[0]), bn(xs[0]))


def test_built_from_norm_cfg_everywhere_in_shike():
    name, layer = build_norm_layer(
        dict(type='SyncBNAnyDevice', momentum=None), 16, postfix=1)
    assert name == 'bn1' and isinstance(layer, SyncBatchNorm2d)
    assert layer.momentum is None and layer.num_features == 16

    def bn_layers(norm_cfg=None):
        cfg = Config.fromfile(CONFIG)
        if norm_cfg:
            cfg.model.backbone.norm_cfg = norm_cfg
        model = MODELS.build(cfg.model)
        return {n: type(m) for n, m in model.named_modules()
                if isinstance(m, _BatchNorm)}

    default = bn_layers()
    synced = bn_layers(dict(type='SyncBNAnyDevice'))
    # every BN of the model follows the backbone's norm_cfg, the DKF
    # alignment units' (5 with 3 experts) included
    assert synced.keys() == default.keys()
    assert set(default.values()) == {nn.BatchNorm2d}
    assert set(synced.values()) == {SyncBatchNorm2d}
    assert sum('fusion_layers' in n for n in synced) == 5
