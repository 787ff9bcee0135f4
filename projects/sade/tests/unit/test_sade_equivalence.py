# Copyright (c) shike-mm contributors. All rights reserved.
"""SADE here against the public SADE code (github.com/Vanint/
SADE-AgnosticLT), loaded from the checkout named by ``SADE_REFERENCE_REPO``
(skipped without it): with the same weights, the experts' logits, the
training loss, and the test-time objective, its gradient with respect to
the aggregation weights and one epoch of aggregation learning."""
import re

import pytest
import torch

from projects.sade.tests import sade_reference
from projects.sade.tests.sade_test_utils import build_model, load_config

pytestmark = pytest.mark.skipif(
    not sade_reference.REPO,
    reason='set SADE_REFERENCE_REPO to a checkout of '
    'github.com/Vanint/SADE-AgnosticLT')

#: CIFAR-100-LT IF100 training counts (the tail has ties).
CIFAR100_LT_COUNTS = [int(500 * 0.01**(c / 99)) for c in range(100)]


@pytest.fixture(scope='module')
def ref():
    return sade_reference.load()


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.Tensor, 'cuda', lambda self, *a, **k: self)


def reference_to_ours(state_dict):
    """The public ResNet_s state dict in the keys of the ImageClassifier
    (RIDEResNet + GlobalAveragePooling + MultiExpertFusionHead)."""
    out = {}
    for key, value in state_dict.items():
        match = re.match(r'^linears\.(\d+)\.weight$', key)
        if match:  # NormedLinear stores (D, C), the classifier (C, D)
            out[f'head.classifiers.{match.group(1)}.weight'] = value.t()
            continue
        key = re.sub(r'^layer([23])s\.(\d+)\.', r'experts.\2.layer\1.', key)
        out[f'backbone.{key}'] = value
    return out


def models(ref, seed=0):
    torch.manual_seed(seed)
    theirs = ref.resnet_cifar.ResNet_s(
        ref.resnet_cifar.BasicBlock, [5, 5, 5], num_experts=3,
        num_classes=100, reduce_dimension=True, use_norm=True,
        returns_feat=True)
    # non-trivial BN statistics and affine parameters
    with torch.no_grad():
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    cfg = load_config('sade_r32-3e_cifar100-lt-r100.py')
    ours = build_model(cfg.model)
    missing, unexpected = ours.load_state_dict(
        reference_to_ours(theirs.state_dict()), strict=False)
    assert not unexpected
    assert all(k.startswith('head.') and 'classifiers' not in k
               for k in missing), missing
    ours.head.loss_module.set_class_counts(CIFAR100_LT_COUNTS)
    return theirs, ours


def our_expert_logits(model, x):
    feats = model.extract_feat(x)
    return model.head.expert_logits(feats)


@pytest.mark.parametrize('training', [False, True])
def test_expert_logits_equal(ref, training):
    theirs, ours = models(ref)
    theirs.train(training)
    ours.train(training)
    x = torch.randn(8, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = theirs(x)['logits'].transpose(0, 1)  # (M, B, C)
        got = our_expert_logits(ours, x)
    diff = (got - expected).abs().max().item()
    print(f'experts\' logits (train={training}): max |diff| = {diff:.3g}')
    assert got.shape == (3, 8, 100)
    assert diff < 1e-5


def test_training_loss_equal(ref, no_cuda):
    from mmpretrain.structures import DataSample
    theirs, ours = models(ref)
    theirs.train()
    ours.train()
    x = torch.randn(16, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    target = torch.tensor([0, 1, 2, 3, 50, 60, 70, 80, 90, 95, 96, 97, 98,
                           99, 5, 10])
    criterion = ref.loss.DiverseExpertLoss(CIFAR100_LT_COUNTS, tau=2)
    out = theirs(x)
    expected = criterion(
        output_logits=out['output'], target=target,
        extra_info={'logits': out['logits'].transpose(0, 1)})
    samples = [DataSample().set_gt_label(int(t)) for t in target]
    losses = ours.loss(x, samples)
    assert set(losses) == {'loss_diverse'}
    got = losses['loss_diverse']
    rel = abs(got.item() - expected.item()) / abs(expected.item())
    print(f'training loss: ours {got.item():.8f}, theirs '
          f'{expected.item():.8f}, relative diff {rel:.3g}')
    assert rel < 1e-6


def test_loss_on_given_logits(ref, no_cuda):
    """The loss alone on the same logits, every class a target."""
    from projects.sade.sade import DiverseExpertLoss
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(3, 200, 100, generator=g) * 5
    target = torch.arange(200) % 100
    criterion = ref.loss.DiverseExpertLoss(CIFAR100_LT_COUNTS, tau=2)
    expected = criterion(logits.mean(0), target,
                         extra_info={'logits': logits})
    got = DiverseExpertLoss(class_counts=CIFAR100_LT_COUNTS)(logits, target)
    rel = (abs(got - expected) / expected).item()
    print(f'loss on given logits: relative diff {rel:.3g}')
    assert rel < 1e-6


def view_batches(num_batches=3, batch=32, num_classes=100, seed=4):
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(3, batch, num_classes, generator=g) * 8,
             torch.randn(3, batch, num_classes, generator=g) * 8)
            for _ in range(num_batches)]


class LogitsModel(torch.nn.Module):
    """Returns its input as the experts' logits, in the public layout."""

    def forward(self, logits):
        return {'logits': logits}


class Recorder:
    """Wraps an optimiser and records the weight's gradient at each step."""

    def __init__(self, optimizer, weight):
        self.optimizer = optimizer
        self.weight = weight
        self.grads = []

    def zero_grad(self):
        self.optimizer.zero_grad()

    def step(self):
        self.grads.append(self.weight.grad.detach().clone())
        self.optimizer.step()


def test_test_time_objective_gradient_and_epoch(ref, no_cuda):
    from projects.sade.sade import (SADEFusion, learn_aggregation,
                                    prediction_stability_loss)
    from projects.sade.sade.test_time_aggregation import DEFAULT_OPTIMIZER
    batches = view_batches()
    # theirs: one epoch of test_training over the batches in this order
    weight = torch.nn.Parameter(torch.FloatTensor(3), requires_grad=True)
    weight.data.fill_(1 / 3)
    opt = dict(DEFAULT_OPTIMIZER)
    opt.pop('type')
    recorder = Recorder(torch.optim.SGD([weight], **opt), weight)
    loader = [([v1.transpose(0, 1), v2.transpose(0, 1)], None)
              for v1, v2 in batches]
    ref.Meter.values.clear()
    ref.test_training(loader, None, LogitsModel(), weight, recorder, None)
    their_objective = [-v for v in ref.Meter.values]  # they log +cosine

    # ours, step by step: objective and gradient at the first step
    fusion = SADEFusion(3)
    loss = prediction_stability_loss(fusion(batches[0][0]),
                                     fusion(batches[0][1]))
    loss.backward()
    d_obj = abs(loss.item() - their_objective[0])
    d_grad = (fusion.weight.grad - recorder.grads[0]).abs().max().item()
    # ours, the whole epoch through learn_aggregation
    fusion = SADEFusion(3)
    result = learn_aggregation(fusion, lambda: batches, epochs=1)
    d_weight = (fusion.weight.detach() - weight.detach()).abs().max().item()
    print(f'test-time objective: |diff| {d_obj:.3g}; gradient w.r.t. the '
          f'weights: max |diff| {d_grad:.3g} (norm '
          f'{recorder.grads[0].norm():.3g}); weights after one epoch: max '
          f'|diff| {d_weight:.3g}')
    assert d_obj < 1e-6
    assert d_grad < 1e-7 + 1e-5 * recorder.grads[0].abs().max().item()
    assert d_weight < 1e-6
    assert result.epochs == 1
