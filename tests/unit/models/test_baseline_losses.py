# Copyright (c) shike-mm contributors. All rights reserved.
"""Logit adjustment (Menon et al., ICLR 2021) as a training loss and as a
test-time correction, and tau-normalisation (Kang et al., ICLR 2020),
against slow references written from the papers' equations."""
import math

import pytest
import torch
from mmpretrain.models import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models import (BalancedSoftmaxLoss, LogitAdjustLoss,
                             PostHocAdjustedHead, logit_adjust_loss)

COUNTS = [50, 20, 10, 5, 3, 2, 0]  # the 0 is clamped to 1


def assert_close(actual, expected, atol=1e-6):
    """Tensor vs nested python lists, elementwise within ``atol``."""
    expected = torch.tensor(expected, dtype=torch.float64)
    actual = actual.detach().double()
    assert actual.shape == expected.shape
    assert torch.allclose(actual, expected, rtol=0, atol=atol), (actual,
                                                                 expected)


def ref_logit_adjusted_ce(z, target, counts, tau):
    """-log(e^{z_y + tau log pi_y} / sum_j e^{z_j + tau log pi_j}), mean
    over the batch, pi_j = n_j / sum n (python floats, one sample at a
    time)."""
    total_n = sum(counts)
    total = 0.0
    for row, y in zip(z, target):
        adjusted = [
            v + tau * math.log(n / total_n) for v, n in zip(row, counts)
        ]
        top = max(adjusted)
        log_sum = top + math.log(sum(math.exp(a - top) for a in adjusted))
        total += log_sum - adjusted[y]
    return total / len(z)


@pytest.fixture
def batch():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(6, 7, generator=gen, dtype=torch.float64) * 3
    target = torch.tensor([0, 1, 6, 3, 5, 6])
    return z, target


@pytest.mark.parametrize('tau', [1.0, 0.5, 2.0, 0.0])
def test_logit_adjust_loss_matches_equation(batch, tau):
    z, target = batch
    loss_module = LogitAdjustLoss(tau=tau, class_counts=COUNTS)
    loss = loss_module(z, target)
    expected = ref_logit_adjusted_ce(z.tolist(), target.tolist(),
                                     [max(n, 1) for n in COUNTS], tau)
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(expected, abs=1e-6, rel=1e-6)
    # the functional form and the weighted / summed reductions
    assert logit_adjust_loss(
        z, target, loss_module.log_prior, tau=tau).item() == pytest.approx(
            expected, abs=1e-6)
    assert loss_module(z, target, reduction_override='sum').item() == \
        pytest.approx(expected * 6, abs=1e-6)
    weight = torch.tensor([1., 0., 0., 0., 0., 0.], dtype=torch.float64)
    first = ref_logit_adjusted_ce(z[:1].tolist(), target[:1].tolist(),
                                  [max(n, 1) for n in COUNTS], tau)
    assert loss_module(z, target, weight=weight, avg_factor=1).item() == \
        pytest.approx(first, abs=1e-6)


def test_tau_zero_is_cross_entropy_and_tau_one_is_balanced_softmax(batch):
    z, target = batch
    ce = torch.nn.functional.cross_entropy(z, target)
    assert LogitAdjustLoss(tau=0, class_counts=COUNTS)(
        z, target).item() == pytest.approx(ce.item(), abs=1e-12)
    bsce = BalancedSoftmaxLoss(class_counts=COUNTS)(z, target)
    la = LogitAdjustLoss(class_counts=COUNTS)(z, target)
    assert la.item() == pytest.approx(bsce.item(), abs=1e-12)
    # The adjusted loss differs from CE: it is not a no-op.
    assert abs(la.item() - ce.item()) > 1e-2


def test_logit_adjust_loss_state_dict_registry_and_head():
    loss_module = MODELS.build(dict(type='LogitAdjustLoss', tau=1.5))
    assert loss_module.tau == 1.5
    with pytest.raises(RuntimeError, match='LogitAdjustLoss has no class'):
        loss_module(torch.randn(2, 7), torch.tensor([0, 1]))
    loss_module.set_class_counts(COUNTS)
    # A model built without counts restores them from a checkpoint, under
    # the same key as BalancedSoftmaxLoss.
    fresh = LogitAdjustLoss(tau=1.5)
    fresh.load_state_dict(loss_module.state_dict())
    assert list(fresh.state_dict()) == ['log_prior']
    assert torch.equal(fresh.log_prior, loss_module.log_prior)
    with pytest.raises(ValueError, match='7 classes'):
        fresh(torch.randn(2, 4), torch.tensor([0, 1]))

    head = LinearClsHead(
        num_classes=3, in_channels=4,
        loss=dict(type='LogitAdjustLoss', class_counts=[10, 5, 1]))
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = head.loss((torch.randn(4, 4), ), samples)
    assert torch.isfinite(losses['loss'])


def test_balanced_softmax_keeps_its_state():
    bsce = BalancedSoftmaxLoss(class_counts=[4, 2, 1])
    assert list(bsce.state_dict()) == ['log_prior']
    expected = torch.tensor([4., 2., 1.], dtype=torch.float64).log()
    assert torch.allclose(bsce.log_prior, expected)
    assert torch.equal(bsce.logit_adjustment(), bsce.log_prior)


def _linear_head(num_classes=4, in_channels=3):
    head = LinearClsHead(num_classes=num_classes, in_channels=in_channels)
    with torch.no_grad():
        head.fc.weight.copy_(
            torch.tensor([[2., 0., 0.], [0., 1., 0.], [0., 0., .5],
                          [1., 1., 1.]]))
        head.fc.bias.copy_(torch.tensor([.1, -.2, .3, 0.]))
    return head


def test_post_hoc_adjustment_changes_predictions_by_the_formula():
    counts = [400, 100, 10, 1]
    head = PostHocAdjustedHead(head=_linear_head(), tau=1.0,
                               class_counts=counts)
    feats = (torch.tensor([[1., 1., 1.], [.2, .1, 3.], [1., 0., 0.],
                           [0., 0., 0.]]), )
    raw = head(feats).detach()  # forward: the raw logits of the wrapped head
    ref_raw = feats[0] @ head.head.fc.weight.T + head.head.fc.bias
    assert torch.allclose(raw, ref_raw)

    prior = [n / sum(counts) for n in counts]
    expected = [[float(raw[b, c]) - math.log(prior[c]) for c in range(4)]
                for b in range(4)]
    assert_close(head.adjusted_logits(feats), expected)

    preds = head.predict(feats)
    for b, sample in enumerate(preds):
        exp_label = max(range(4), key=lambda c: expected[b][c])
        assert int(sample.pred_label) == exp_label
        assert sample.pred_score.sum().item() == pytest.approx(1.0)
    # The adjustment does flip decisions towards rare classes here.
    raw_labels = raw.argmax(dim=1).tolist()
    new_labels = [int(s.pred_label) for s in preds]
    assert raw_labels != new_labels
    # tau scales the shift: tau=0.5 is halfway.
    half = PostHocAdjustedHead(head=_linear_head(), tau=0.5,
                               class_counts=counts)
    assert_close(
        half.adjusted_logits(feats),
        [[float(raw[b, c]) - 0.5 * math.log(prior[c]) for c in range(4)]
         for b in range(4)])


def test_post_hoc_head_delegates_loss_and_keeps_counts_in_checkpoint():
    head = MODELS.build(
        dict(type='PostHocAdjustedHead',
             head=dict(type='LinearClsHead', num_classes=4, in_channels=3)))
    feats = (torch.randn(5, 3), )
    samples = [DataSample().set_gt_label(i % 4) for i in range(5)]
    losses = head.loss(feats, samples)
    # plain CE on the raw logits: training is the wrapped head's
    ce = torch.nn.functional.cross_entropy(
        head(feats), torch.tensor([i % 4 for i in range(5)]))
    assert losses['loss'].item() == pytest.approx(ce.item(), abs=1e-6)
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        head.predict(feats)
    head.set_class_counts([8, 4, 2, 0])
    fresh = MODELS.build(
        dict(type='PostHocAdjustedHead',
             head=dict(type='LinearClsHead', num_classes=4, in_channels=3)))
    fresh.load_state_dict(head.state_dict())
    assert 'log_prior' in head.state_dict()
    assert torch.equal(fresh.adjusted_logits(feats),
                       head.adjusted_logits(feats))
    with pytest.raises(ValueError, match='change nothing|changes? nothing'):
        PostHocAdjustedHead(head=_linear_head(), tau=0)
    with pytest.raises(ValueError, match='fc.nope'):
        PostHocAdjustedHead(head=_linear_head(), weight_norm_tau=1.0,
                            weight_name='fc.nope')


@pytest.mark.parametrize('p', [1.0, 0.5, 0.0])
def test_tau_normalisation_by_hand(p):
    head = PostHocAdjustedHead(head=_linear_head(), tau=0.0,
                               weight_norm_tau=p)
    feats = (torch.tensor([[1., 2., 3.], [-1., .5, 2.]]), )
    # hand computation: row norms 2, 1, 0.5, sqrt(3)
    norms = [2., 1., .5, math.sqrt(3.)]
    rows = [[2., 0., 0.], [0., 1., 0.], [0., 0., .5], [1., 1., 1.]]
    bias = [.1, -.2, .3, 0.]
    expected = [[
        sum(w * x for w, x in zip(rows[c], feat)) / norms[c]**p + bias[c]
        for c in range(4)
    ] for feat in feats[0].tolist()]
    assert_close(head.adjusted_logits(feats), expected)
    # the stored weight itself is untouched, and training sees raw logits
    assert head.head.fc.weight[0, 0].item() == 2.0
    assert torch.allclose(head(feats), feats[0] @ head.head.fc.weight.T +
                          head.head.fc.bias)


def test_tau_normalisation_and_adjustment_combine():
    counts = [5, 4, 3, 2]
    head = PostHocAdjustedHead(head=_linear_head(), tau=1.0,
                               weight_norm_tau=1.0, class_counts=counts)
    feats = (torch.tensor([[1., 2., 3.]]), )
    norms = [2., 1., .5, math.sqrt(3.)]
    dots = [2., 2., 1.5, 6.]
    bias = [.1, -.2, .3, 0.]
    expected = [
        dots[c] / norms[c] + bias[c] - math.log(counts[c] / sum(counts))
        for c in range(4)
    ]
    assert_close(head.adjusted_logits(feats)[0], expected)
