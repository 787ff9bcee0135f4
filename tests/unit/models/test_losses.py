# Copyright (c) shike-mm contributors. All rights reserved.
"""Losses against slow references written from the equations."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models import (BalancedSoftmaxLoss, DKTLoss, MutualKLLoss,
                             dkt_teacher_logits)


def _softmax(values):
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def _kl(p, q):
    """KL(p || q) of two lists of probabilities."""
    return sum(pi * (math.log(pi) - math.log(qi)) for pi, qi in zip(p, q)
               if pi > 0)


def _ref_teacher(z, b, y):
    """Eq. 5-7 for sample b: dict class -> teacher logit (non-targets)."""
    num_experts, num_classes = len(z), len(z[0][0])
    mean = {
        c: sum(z[m][b][c] for m in range(num_experts)) / num_experts
        for c in range(num_classes) if c != y
    }
    hardest = None
    for c in sorted(mean):
        if hardest is None or mean[c] > mean[hardest]:
            hardest = c
    return {
        c: mean[c] if c == hardest else max(z[m][b][c]
                                            for m in range(num_experts))
        for c in mean
    }


def ref_dkt(z, target, exclude_target):
    """Slow DKT: python loops over experts, samples and classes."""
    num_experts, batch, num_classes = len(z), len(z[0]), len(z[0][0])
    total = 0.0
    for b in range(batch):
        y = int(target[b])
        teacher = _ref_teacher(z, b, y)
        if exclude_target:
            classes = [c for c in range(num_classes) if c != y]
            p_t = _softmax([teacher[c] for c in classes])
            for m in range(num_experts):
                p_s = _softmax([z[m][b][c] for c in classes])
                total += _kl(p_t, p_s)
        else:
            p_t = _softmax(
                [0.0 if c == y else teacher[c] for c in range(num_classes)])
            for m in range(num_experts):
                p_s = _softmax([
                    -30.0 if c == y else z[m][b][c] for c in range(num_classes)
                ])
                total += _kl(p_t, p_s)
    denom = batch * (num_classes - 1 if exclude_target else num_classes)
    return total / denom


def ref_mutual(z, temperature=1.0):
    num_experts, batch, num_classes = len(z), len(z[0]), len(z[0][0])
    total = 0.0
    for j in range(num_experts):
        for i in range(num_experts):
            if i == j:
                continue
            for b in range(batch):
                p_j = _softmax([v / temperature for v in z[j][b]])
                p_i = _softmax([v / temperature for v in z[i][b]])
                total += _kl(p_j, p_i)
    return total * temperature**2 / (batch * num_classes)


def ref_bsce(z, target, counts):
    total = 0.0
    for b, y in enumerate(target):
        denom = sum(n * math.exp(v) for n, v in zip(counts, z[b]))
        total += -math.log(counts[y] * math.exp(z[b][y]) / denom)
    return total / len(target)


@pytest.mark.parametrize('exclude_target', [False, True])
def test_dkt_matches_reference(logits, exclude_target):
    z, target = logits
    loss = DKTLoss(loss_weight=1.0, exclude_target=exclude_target)(z, target)
    assert loss.dtype == torch.float64
    expected = ref_dkt(z.tolist(), target.tolist(), exclude_target)
    assert loss.item() == pytest.approx(expected, abs=1e-6, rel=1e-6)
    # Default weight is 10.
    assert DKTLoss(exclude_target=exclude_target)(z, target).item() == \
        pytest.approx(10 * expected, rel=1e-9)


def test_dkt_teacher_reference(logits):
    z, target = logits
    teacher = dkt_teacher_logits(z, target)
    teacher_nt = dkt_teacher_logits(z, target, exclude_target=True)
    assert teacher.shape == (6, 7) and teacher_nt.shape == (6, 6)
    for b, y in enumerate(target.tolist()):
        ref = _ref_teacher(z.tolist(), b, y)
        assert teacher[b, y].item() == 0.0
        for k, c in enumerate(sorted(ref)):
            assert teacher[b, c].item() == pytest.approx(ref[c], abs=1e-12)
            assert teacher_nt[b, k].item() == pytest.approx(ref[c], abs=1e-12)


def test_dkt_teacher_by_hand():
    # 2 experts, 4 classes, one sample with target 0:
    #   expert 0: [5, 3, 1, 2]
    #   expert 1: [4, 1, 4, 0]
    # non-target means: c1 = 2.0, c2 = 2.5, c3 = 1.0 -> hardest = class 2.
    # non-target maxima: c1 = 3, c2 = 4, c3 = 2.
    # teacher: target 0 -> 0 (reference), c1 -> max 3, c2 -> mean 2.5,
    #          c3 -> max 2  =>  [0, 3, 2.5, 2];  C-1 version: [3, 2.5, 2].
    z = torch.tensor([[[5., 3., 1., 2.]], [[4., 1., 4., 0.]]])
    target = torch.tensor([0])
    assert dkt_teacher_logits(z, target).tolist() == [[0., 3., 2.5, 2.]]
    assert dkt_teacher_logits(
        z, target, exclude_target=True).tolist() == [[3., 2.5, 2.]]
    assert DKTLoss().teacher_logits(z, target).tolist() == [[0., 3., 2.5, 2.]]
    # Teacher distribution softmax([0, 3, 2.5, 2]) vs. students with the
    # target logit replaced by -30: expert 0 -> [-30, 3, 1, 2],
    # expert 1 -> [-30, 1, 4, 0]; element-wise mean over 1 x 4 elements.
    p_t = _softmax([0., 3., 2.5, 2.])
    expected = (_kl(p_t, _softmax([-30., 3., 1., 2.])) +
                _kl(p_t, _softmax([-30., 1., 4., 0.]))) / 4
    loss = DKTLoss(loss_weight=1.0)(z.double(), target)
    assert loss.item() == pytest.approx(expected, abs=1e-12)


def test_dkt_gradients_and_detach(logits):
    z, target = logits
    z = z.clone().requires_grad_(True)
    DKTLoss()(z, target).backward()
    grad_full = z.grad.clone()
    assert torch.isfinite(grad_full).all()
    # The target logit of the students is replaced: no gradient there.
    onehot = torch.nn.functional.one_hot(target, 7).bool().expand(3, -1, -1)
    assert (grad_full[onehot] == 0).all()
    z.grad = None
    DKTLoss(detach_teacher=True)(z, target).backward()
    assert not torch.allclose(z.grad, grad_full)


@pytest.mark.parametrize('loss_type', ['DKTLoss', 'MutualKLLoss'])
def test_batchmean_equivalence(logits, loss_type):
    """'mean' with weight w equals 'batchmean' with weight w / C."""
    z, target = logits
    num_classes = z.size(-1)
    weight = 10.0 if loss_type == 'DKTLoss' else 1.0
    mean = MODELS.build(dict(type=loss_type, loss_weight=weight))
    batchmean = MODELS.build(
        dict(
            type=loss_type,
            loss_weight=weight / num_classes,
            reduction='batchmean'))
    total = MODELS.build(
        dict(type=loss_type, loss_weight=1.0, reduction='sum'))
    assert mean(z, target).item() == pytest.approx(
        batchmean(z, target).item(), rel=1e-12)
    assert total(z, target).item() == pytest.approx(
        mean(z, target).item() / weight * z.size(1) * num_classes, rel=1e-9)


@pytest.mark.parametrize('temperature', [1.0, 2.0])
def test_mutual_kl_matches_reference(logits, temperature):
    z, _ = logits
    loss = MutualKLLoss(temperature=temperature)(z)
    expected = ref_mutual(z.tolist(), temperature)
    assert loss.item() == pytest.approx(expected, abs=1e-6, rel=1e-6)
    # Sequence input, single expert, detach option.
    assert MutualKLLoss(temperature=temperature)(list(z)).item() == \
        pytest.approx(expected, rel=1e-9)
    assert MutualKLLoss()(z[:1]).item() == 0.0
    # detach_target: gradients flow through the second argument of each KL
    # only; compare with autograd through an explicitly detached reference.
    z = z.clone().requires_grad_(True)
    MutualKLLoss(detach_target=True, temperature=temperature)(z).backward()
    zr = z.detach().clone().requires_grad_(True)
    log_p = F.log_softmax(zr / temperature, -1)
    ref = sum((log_p[j].detach().exp() * (log_p[j].detach() - log_p[i])).sum()
              for j in range(len(zr)) for i in range(len(zr)) if i != j)
    (ref * temperature**2 / zr[0].numel()).backward()
    torch.testing.assert_close(z.grad, zr.grad)
    zf = z.detach().clone().requires_grad_(True)
    MutualKLLoss(temperature=temperature)(zf).backward()
    assert not torch.allclose(zf.grad, z.grad)


def test_balanced_softmax_matches_reference(logits):
    z, target = logits
    counts = [50, 20, 10, 5, 3, 2, 0]  # the 0 is clamped to 1
    loss_module = BalancedSoftmaxLoss(class_counts=counts)
    loss = loss_module(z[0], target)
    expected = ref_bsce(z[0].tolist(), target.tolist(),
                        [max(n, 1) for n in counts])
    assert loss.dtype == torch.float64
    assert loss.item() == pytest.approx(expected, abs=1e-6, rel=1e-6)
    # set_class_counts is the same mechanism as the constructor argument.
    other = BalancedSoftmaxLoss()
    other.set_class_counts(counts)
    assert other(z[0], target).item() == pytest.approx(loss.item())
    assert 'log_prior' in other.state_dict()
    # Extra reductions and weights follow mmpretrain's convention.
    assert loss_module(
        z[0], target,
        reduction_override='sum').item() == pytest.approx(expected * 6)
    assert loss_module(
        z[0], target, avg_factor=3).item() == pytest.approx(expected * 2)
    assert loss_module(z[0], target, reduction_override='none').shape == (6, )


def test_balanced_softmax_errors_and_state_dict():
    loss_module = BalancedSoftmaxLoss()
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        loss_module(torch.randn(2, 3), torch.tensor([0, 1]))
    loss_module.set_class_counts([3, 2, 1])
    with pytest.raises(NotImplementedError, match='soft'):
        loss_module(torch.randn(2, 3), torch.rand(2, 3))
    with pytest.raises(ValueError, match='3 classes'):
        loss_module(torch.randn(2, 4), torch.tensor([0, 1]))
    # A model built without counts restores them from a checkpoint.
    fresh = BalancedSoftmaxLoss()
    fresh.load_state_dict(loss_module.state_dict())
    assert torch.equal(fresh.log_prior, loss_module.log_prior)


def test_balanced_softmax_in_linear_cls_head():
    head = LinearClsHead(
        num_classes=3,
        in_channels=4,
        loss=dict(type='BalancedSoftmaxLoss', class_counts=[10, 5, 1]))
    samples = [DataSample().set_gt_label(i % 3) for i in range(4)]
    losses = head.loss((torch.randn(4, 4), ), samples)
    assert torch.isfinite(losses['loss'])


def test_losses_under_bf16_autocast():
    z = torch.randn(3, 4, 10)
    target = torch.randint(0, 10, (4, ))
    with torch.autocast('cpu', dtype=torch.bfloat16):
        z16 = z.bfloat16()
        losses = [
            DKTLoss()(z16, target),
            MutualKLLoss()(z16),
            BalancedSoftmaxLoss(class_counts=list(range(1, 11)))(z16[0],
                                                                 target)
        ]
    zf = z16.float()  # the same values, computed in float32 throughout
    expected = [
        DKTLoss()(zf, target),
        MutualKLLoss()(zf),
        BalancedSoftmaxLoss(class_counts=list(range(1, 11)))(zf[0], target)
    ]
    for loss, ref in zip(losses, expected):
        assert loss.dtype == torch.float32
        torch.testing.assert_close(loss, ref)
