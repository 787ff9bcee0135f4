# Copyright (c) shike-mm contributors. All rights reserved.
"""Features, data samples and a SHIKE head for the head tests."""
import torch
from mmpretrain.structures import DataSample

from shike_mm.models import MultiExpertFusionHead

NUM_CLASSES, DIM, BATCH = 5, 8, 4


def _samples(batch=BATCH):
    return [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(batch)]


def _feats(num_experts=3, batch=BATCH):
    gen = torch.Generator().manual_seed(1)
    return tuple(
        torch.randn(batch, DIM, generator=gen) for _ in range(num_experts))


def _head(**kwargs):
    head = MultiExpertFusionHead(
        num_classes=NUM_CLASSES, in_channels=DIM, **kwargs)
    head.init_weights()
    return head
