# Copyright (c) shike-mm contributors. All rights reserved.
"""SADE's loss, fusion rule, test-time objective and loop against hand
values and independent formulas."""
import math

import pytest
import torch

from projects.sade.sade import (DiverseExpertLoss, SADEFusion,
                                diverse_expert_adjustments, inverse_prior,
                                learn_aggregation, prediction_stability_loss,
                                should_stop)
from shike_mm.protocols import ClassCountsConsumer, MultiExpertLoss


def test_inverse_prior_hand_values():
    prior = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    assert inverse_prior(prior).tolist() == [0.2, 0.3, 0.5]
    prior = torch.tensor([0.1, 0.6, 0.3], dtype=torch.float64)
    assert inverse_prior(prior).tolist() == [0.6, 0.1, 0.3]
    # ties: the multiset is kept, the most frequent class gets the minimum
    prior = torch.tensor([0.4, 0.2, 0.2, 0.2], dtype=torch.float64)
    inv = inverse_prior(prior)
    assert inv[0] == 0.2
    assert sorted(inv.tolist()) == [0.2, 0.2, 0.2, 0.4]


def test_adjustments_hand_values():
    adj = diverse_expert_adjustments([3, 1], tau=2.0, eps=0.0)
    l75, l25 = math.log(0.75), math.log(0.25)
    expected = [[0.0, 0.0], [l75, l25], [l75 - 2 * l25, l25 - 2 * l75]]
    assert torch.allclose(adj, torch.tensor(expected, dtype=torch.float64),
                          atol=1e-15)
    with pytest.raises(ValueError, match='non-negative'):
        diverse_expert_adjustments([3, -1])
    with pytest.raises(ValueError, match='positive sum'):
        diverse_expert_adjustments([0, 0])


def test_loss_equals_three_cross_entropies():
    counts = [50, 20, 5, 1]
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(3, 6, 4, generator=g, dtype=torch.float64)
    target = torch.tensor([0, 1, 2, 3, 0, 3])
    prior = torch.tensor(counts, dtype=torch.float64) / sum(counts)
    log_prior = torch.log(prior + 1e-9)
    # inverse prior of [50, 20, 5, 1]: [1, 5, 20, 50] / 76
    inv = torch.tensor([1, 5, 20, 50], dtype=torch.float64) / sum(counts)

    def nll(z):
        return -z.log_softmax(1)[torch.arange(6), target].mean()

    expected = (nll(logits[0]) + nll(logits[1] + log_prior) +
                nll(logits[2] + log_prior - 2 * torch.log(inv + 1e-9)))
    loss = DiverseExpertLoss(class_counts=counts, loss_weight=0.5)
    assert torch.allclose(loss(logits, target), 0.5 * expected, rtol=1e-12)
    # a sequence of three (B, C) tensors is the same
    assert torch.allclose(loss(list(logits), target), 0.5 * expected,
                          rtol=1e-12)


def test_loss_protocols_state_and_errors():
    loss = DiverseExpertLoss()
    assert isinstance(loss, MultiExpertLoss)
    assert isinstance(loss, ClassCountsConsumer)
    with pytest.raises(RuntimeError, match='no class counts'):
        loss(torch.zeros(3, 2, 4), torch.tensor([0, 1]))
    loss.set_class_counts([4, 3, 2, 1])
    assert 'adjustments' not in loss.state_dict()  # counts live elsewhere
    with pytest.raises(ValueError, match='exactly 3 experts'):
        loss(torch.zeros(2, 2, 4), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match='4 classes but the logits have 5'):
        loss(torch.zeros(3, 2, 5), torch.tensor([0, 1]))
    # half logits are computed in float32
    out = loss(torch.zeros(3, 2, 4, dtype=torch.bfloat16),
               torch.tensor([0, 1]))
    assert out.dtype == torch.float32


def test_fusion_starts_at_the_mean_and_weights_by_softmax():
    g = torch.Generator().manual_seed(1)
    z = torch.randn(3, 5, 7, generator=g)
    fusion = SADEFusion()
    assert fusion.weight.tolist() == pytest.approx([1 / 3] * 3)
    assert torch.allclose(fusion(z), z.mean(0), atol=1e-6)
    with torch.no_grad():
        fusion.weight.copy_(torch.log(torch.tensor([1.0, 2.0, 1.0])))
    assert fusion.expert_weights().tolist() == pytest.approx(
        [0.25, 0.5, 0.25])
    assert torch.allclose(fusion(z), 0.25 * z[0] + 0.5 * z[1] + 0.25 * z[2],
                          atol=1e-6)
    assert fusion(z.double()).dtype == torch.float64
    with pytest.raises(ValueError, match=r'\(3, B, C\)'):
        fusion(z[:2])
    with pytest.raises(ValueError, match='positive integer'):
        SADEFusion(0)


def test_stability_objective_hand_values():
    a = torch.tensor([[0.0, 0.0]])
    b = torch.tensor([[0.0, math.log(3.0)]])  # softmax (0.25, 0.75)
    cos = (0.5 * 0.25 + 0.5 * 0.75) / (math.sqrt(0.5) * math.sqrt(0.625))
    assert prediction_stability_loss(a, b).item() == pytest.approx(-cos)
    assert prediction_stability_loss(b, b).item() == pytest.approx(-1.0)
    with pytest.raises(ValueError, match='same shape'):
        prediction_stability_loss(a, torch.zeros(1, 3))


def test_should_stop_rounds_like_the_public_code():
    assert should_stop(torch.tensor([0.044, 0.5, 0.456]))
    assert not should_stop(torch.tensor([0.05, 0.5, 0.45]))
    assert not should_stop(torch.tensor([0.046, 0.5, 0.454]))  # -> 0.05


def test_learn_aggregation_epochs_and_early_stop():
    g = torch.Generator().manual_seed(2)
    batches = [(torch.randn(3, 4, 5, generator=g),
                torch.randn(3, 4, 5, generator=g)) for _ in range(2)]
    fusion = SADEFusion()
    result = learn_aggregation(fusion, lambda: batches, epochs=0)
    assert result.epochs == 0 and result.losses == []
    assert result.weights == pytest.approx([1 / 3] * 3)
    # every weight is below 0.34 after one epoch: stops there
    result = learn_aggregation(SADEFusion(), lambda: batches, epochs=5,
                               stop_below=0.34)
    assert result.epochs == 1 and len(result.losses) == 1
    result = learn_aggregation(SADEFusion(), lambda: batches, epochs=3)
    assert result.epochs == 3
    # the logged objective of an epoch is the image-weighted mean
    fusion = SADEFusion()
    first = [prediction_stability_loss(fusion(v1), fusion(v2)).item()
             for v1, v2 in batches[:1]]
    result = learn_aggregation(fusion, lambda: batches[:1], epochs=1)
    assert result.losses == pytest.approx(first)
