# Copyright (c) shike-mm contributors. All rights reserved.
"""Expert logits for the loss tests (the logits fixture)."""
import pytest
import torch


@pytest.fixture
def logits():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(3, 6, 7, generator=gen, dtype=torch.float64) * 5
    target = torch.randint(0, 7, (6, ), generator=gen)
    return z, target
