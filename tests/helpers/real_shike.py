# Copyright (c) shike-mm contributors. All rights reserved.
"""The quickstart SHIKE model built from its config and a batch for it, for the
equivalence tests of the training step."""
import os.path as osp

import torch
import torch.nn as nn
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from tests.helpers.commands import REPO_ROOT

REPO = str(REPO_ROOT)


NUM_CLASSES = 10


def build_real(**backbone):
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'shike_r32_cifar.py'))
    cfg.model.head.num_classes = NUM_CLASSES
    cfg.model.backbone.update(backbone)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():  # non-trivial BN affine parameters and statistics
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 2.0)
    return model


def batch(size=6):
    gen = torch.Generator().manual_seed(1)
    inputs = torch.randn(size, 3, 32, 32, generator=gen)
    target = torch.arange(size) % NUM_CLASSES
    samples = [DataSample().set_gt_label(int(t)) for t in target]
    return inputs, target, samples
