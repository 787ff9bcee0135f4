# Copyright (c) shike-mm contributors. All rights reserved.
"""The optimised SHIKE model against the straightforward reference.

``shike_mm/testing/plain_shike.py`` writes the network and the stage-1 loss the
plain way (one module per expert in a Python loop, per-expert loss terms in
lists, NCHW); with the same weights the real model (grouped expert execution,
channels-last, vectorised losses) must give the same logits,
losses, gradients and BN statistics.
"""
import copy

import pytest
import torch

import shike_mm  # noqa: F401
from tests.helpers.real_shike import batch, build_real


def test_compiled_step_matches_the_uncompiled_one():
    """``torch.compile`` (Inductor, the SHIKE CIFAR configs' ``compile``)
    computes the same mathematics: in float64 its logits-to-loss step
    gives the uncompiled model's losses, gradients and BN statistics to
    1e-10 (observed: 5e-13), and the uncompiled model equals the plain one
    (test above). Depth 20 (same layers as 32, fewer blocks) keeps the
    compilation to about a minute. Its float32 rounding is measured by
    tools/check_numerics.py (README: as far from float64 as the plain
    model's)."""
    from shike_mm.utils.compile_support import compile_unavailable
    problem = compile_unavailable(True, on_gpu=False)
    if problem is not None:
        pytest.skip(problem)
    compiled = build_real(depth=20).train().double()
    eager = copy.deepcopy(compiled)
    inputs, _, samples = batch()
    inputs = inputs.double()

    losses = torch.compile(compiled.loss, dynamic=False)(inputs, samples)
    expected = eager.loss(inputs, samples)
    assert set(losses) == set(expected) == {
        'loss_ce', 'loss_dkt', 'loss_mutual'
    }
    for key in losses:
        torch.testing.assert_close(
            losses[key], expected[key], rtol=1e-10, atol=1e-10)
    sum(losses.values()).backward()
    sum(expected.values()).backward()
    eager_params = dict(eager.named_parameters())
    checked = 0
    for name, param in compiled.named_parameters():
        if param.grad is None:
            assert eager_params[name].grad is None, name
            continue
        torch.testing.assert_close(
            param.grad, eager_params[name].grad, rtol=1e-10, atol=1e-10,
            msg=lambda m: f'{name}: {m}')  # noqa: B023
        checked += 1
    assert checked == len(eager_params) - 3  # the unused retrain classifiers
    eager_buffers = dict(eager.named_buffers())
    for name, buf in compiled.named_buffers():
        torch.testing.assert_close(
            buf, eager_buffers[name], rtol=1e-10, atol=1e-10,
            msg=lambda m: f'{name}: {m}')  # noqa: B023
