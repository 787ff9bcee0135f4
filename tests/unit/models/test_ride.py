# Copyright (c) shike-mm contributors. All rights reserved.
"""RIDE (ICLR 2021): backbone, zero-padding shortcut, LDAM-DRW, RIDE loss and
the expert router, checked against hand values and slow references written
from the equations."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmpretrain.models import LinearClsHead
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models import (CosineClassifier, ExpertRouter, LDAMLoss,
                             MultiExpertResNet, RIDELoss, RIDEResNet,
                             ZeroPadShortcut, class_balanced_weights,
                             ldam_margins, routed_predict, router_loss,
                             router_targets, routing_relative_flops)
from shike_mm.models.backbones import ZeroPadResLayer


def _num_params(module):
    return sum(p.numel() for p in module.parameters())


# ----------------------------------------------------------------------
# backbone
# ----------------------------------------------------------------------
@pytest.mark.parametrize('num_experts,reduce,expected', [
    (3, True, 783_856),
    (4, True, 1_037_200),
    (3, False, 1_362_064),
])
def test_ride_r32_parameter_counts(num_experts, reduce, expected):
    """Backbone + M cosine classifiers (100 classes), no router."""
    backbone = RIDEResNet(
        depth=32, num_experts=num_experts, reduce_dimension=reduce)
    classifiers = [
        CosineClassifier(backbone.feat_dim, 100) for _ in range(num_experts)
    ]
    total = _num_params(backbone) + sum(_num_params(c) for c in classifiers)
    assert total == expected


def test_ride_r32_layout_and_shapes():
    model = RIDEResNet(depth=32, num_experts=3).eval()
    assert model.num_shared_stages == 1 and model.shortcut == 'zero_pad'
    assert model.stage_channels == (16, 24, 48)
    assert [n for n, _ in model.experts[0].named_children()
            ] == ['layer2', 'layer3']
    # Option A: no shortcut parameters anywhere.
    assert not any('downsample' in n for n, _ in model.named_parameters())
    assert isinstance(model.experts[0].layer2[0].downsample, ZeroPadShortcut)
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 48, 8, 8)] * 3
    full = RIDEResNet(depth=32, reduce_dimension=False)
    assert full.stage_channels == (16, 32, 64)
    custom = RIDEResNet(depth=32, expert_channels=(20, 40))
    assert custom.stage_channels == (16, 20, 40)


def test_ride_imagenet_layout():
    """R50 / RX50: stages 1-2 shared, 3-4 per expert at 192/384 planes.

    Built on the meta device (no memory, no init). The reference RIDE
    ResNet-50 / ResNeXt-50 (3 experts, reduced) without classifiers have
    39,069,248 / 38,281,024 parameters.
    """
    with torch.device('meta'):
        r50 = RIDEResNet(depth=50, num_experts=3)
        rx50 = RIDEResNet(
            depth=50, num_experts=3, groups=32, width_per_group=4)
    for model in (r50, rx50):
        assert model.num_shared_stages == 2 and model.shortcut == 'conv'
        assert model.stage_channels == (256, 512, 768, 1536)
        assert model.feat_dim == 1536
        assert [n for n, _ in model.experts[2].named_children()
                ] == ['layer3', 'layer4']
    assert r50.experts[0].layer3[0].conv2.out_channels == 192
    assert r50.experts[0].layer4[0].conv2.out_channels == 384
    assert rx50.experts[0].layer3[0].conv2.out_channels == 384
    assert rx50.experts[0].layer3[0].conv2.groups == 32
    assert _num_params(r50) == 39_069_248
    assert _num_params(rx50) == 38_281_024
    assert r50.init_cfg[0]['mode'] == 'fan_out'
    assert RIDEResNet(depth=20).init_cfg[0]['mode'] == 'fan_in'


def test_zero_pad_shortcut_hand_values():
    x = torch.arange(2 * 3 * 5 * 5, dtype=torch.float32).view(2, 3, 5, 5)
    out = ZeroPadShortcut(3, 8, stride=2)(x)
    assert out.shape == (2, 8, 3, 3)
    # (8 - 3) // 2 = 2 zero channels before, 3 after; pixels (0,2,4)^2.
    for b in range(2):
        for c in range(8):
            for i in range(3):
                for j in range(3):
                    want = (
                        x[b, c - 2, 2 * i, 2 * j].item() if 2 <= c < 5 else
                        0.0)
                    assert out[b, c, i, j].item() == want
    same = torch.rand(1, 4, 6, 6)
    assert torch.equal(ZeroPadShortcut(4, 4, stride=1)(same), same)
    with pytest.raises(ValueError, match='cannot reduce channels'):
        ZeroPadShortcut(8, 4)


def test_zero_pad_layer_inside_the_backbone():
    """With the residual branch zeroed, the first expert block outputs
    ReLU(shortcut(x)): subsample by 2, zeros in the new channels."""
    model = RIDEResNet(depth=20, num_experts=2).eval()
    block = model.experts[1].layer2[0]
    with torch.no_grad():
        block.conv2.weight.zero_()
        x = torch.randn(2, 16, 8, 8)
        out = block(x)
    want = torch.zeros(2, 24, 4, 4)
    want[:, 4:20] = x[:, :, ::2, ::2].clamp(min=0)
    torch.testing.assert_close(out, want)


def test_shortcut_option_of_the_shared_path():
    conv = MultiExpertResNet(depth=20, num_shared_stages=1)
    assert isinstance(conv.experts[0].layer2[0].downsample,
                      torch.nn.Sequential)
    pad = MultiExpertResNet(depth=20, num_shared_stages=1, shortcut='zero_pad')
    assert isinstance(pad.experts[0].layer2[0].downsample, ZeroPadShortcut)
    assert isinstance(pad.layer1, ZeroPadResLayer)
    # 1x1 conv + BN shortcuts of stages 2 (16 -> 32) and 3 (32 -> 64) x 3.
    assert _num_params(conv) - _num_params(pad) == 3 * (
        (16 * 32 + 2 * 32) + (32 * 64 + 2 * 64))
    with pytest.raises(ValueError, match='shortcut'):
        MultiExpertResNet(depth=20, shortcut='option_b')
    with pytest.raises(ValueError, match='avg_down'):
        MultiExpertResNet(depth=20, shortcut='zero_pad', avg_down=True)


def test_ride_backbone_with_neck_and_multi_expert_head():
    """Same output contract as SHIKEResNet: GAP neck + the project head."""
    model = MODELS.build(
        dict(
            type='ImageClassifier',
            backbone=dict(type='RIDEResNet', depth=20, num_experts=3),
            neck=dict(type='GlobalAveragePooling'),
            head=dict(
                type='MultiExpertFusionHead',
                num_classes=10,
                in_channels=48,
                num_experts=3)))
    samples = [DataSample().set_gt_label(i % 10) for i in range(4)]
    losses = model(torch.rand(4, 3, 16, 16), samples, mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())


# ----------------------------------------------------------------------
# LDAM-DRW
# ----------------------------------------------------------------------
def test_ldam_margins_hand_values():
    # n^(-1/4) = 1, 1/2, 1/3, 1/4; the rarest class gets max_m.
    torch.testing.assert_close(
        ldam_margins([1, 16, 81, 256], max_m=0.5),
        torch.tensor([0.5, 0.25, 1 / 6, 0.125], dtype=torch.float64))
    torch.testing.assert_close(
        ldam_margins([16, 81, 256], max_m=0.3),
        torch.tensor([0.3, 0.2, 0.15], dtype=torch.float64))


def test_drw_weights_hand_values():
    # beta = 0.5: (1 - b) / (1 - b^n) = 1, 2/3, 4/7; sum 47/21; x 3 / sum.
    torch.testing.assert_close(
        class_balanced_weights([1, 2, 3], beta=0.5),
        torch.tensor([63 / 47, 42 / 47, 36 / 47], dtype=torch.float64))
    counts = [5000, 500, 50, 5]
    raw = [(1 - 0.9999) / (1 - 0.9999**n) for n in counts]
    want = [4 * r / sum(raw) for r in raw]
    torch.testing.assert_close(
        class_balanced_weights(counts),
        torch.tensor(want, dtype=torch.float64),
        rtol=1e-12,
        atol=0)


def ref_ldam(z, target, counts, drw, s=30.0, max_m=0.5, beta=0.9999):
    """Slow LDAM(-DRW) from the equations; z already scaled (s * cos)."""
    inv = [n**-0.25 for n in counts]
    margin = [max_m * v / max(inv) for v in inv]
    raw = [(1 - beta) / (1 - beta**n) for n in counts]
    w = [len(counts) * r / sum(raw) for r in raw]
    num = den = 0.0
    for b, y in enumerate(target):
        row = list(z[b])
        row[y] -= s * margin[y]
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        wb = w[y] if drw else 1.0
        num += wb * (lse - row[y])
        den += wb
    return num / den


def _logits(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g, dtype=torch.float64) * 2 - 1) * 30


COUNTS = [300, 120, 40, 12, 3]


def test_ldam_loss_against_reference_and_set_epoch():
    z = _logits(7, 5)
    y = torch.tensor([0, 1, 2, 3, 4, 4, 1])
    loss = LDAMLoss(class_counts=COUNTS, drw_epoch=160)
    zl, yl = z.tolist(), y.tolist()
    assert not loss.drw_active()  # before any set_epoch: epoch 0
    assert LDAMLoss(class_counts=COUNTS, drw_epoch=0).drw_active()
    before = ref_ldam(zl, yl, COUNTS, drw=False)
    after = ref_ldam(zl, yl, COUNTS, drw=True)
    assert abs(before - after) > 1e-3
    for epoch, want in [(0, before), (159, before), (160, after),
                        (199, after)]:
        loss.set_epoch(epoch)
        assert loss.drw_active() == (epoch >= 160)
        assert abs(loss(z, y).item() - want) < 1e-9
    # Never re-weights without drw_epoch.
    assert abs(LDAMLoss(class_counts=COUNTS)(z, y).item() - before) < 1e-9


def test_ldam_scale_conventions():
    """s * (cos - m) on unscaled logits == (s cos) - s m on scaled ones."""
    cos = torch.rand(6, 5, dtype=torch.float64) * 2 - 1
    y = torch.tensor([0, 1, 2, 3, 4, 0])
    scaled = LDAMLoss(class_counts=COUNTS, s=30)(30 * cos, y)
    inside = LDAMLoss(class_counts=COUNTS, s=30, scale_logits=True)(cos, y)
    torch.testing.assert_close(scaled, inside)
    assert abs(scaled.item() - ref_ldam((30 * cos).tolist(), y.tolist(),
                                        COUNTS, False)) < 1e-9


def test_ldam_with_linear_cls_head_and_counts():
    head = LinearClsHead(
        num_classes=5,
        in_channels=8,
        loss=dict(type='LDAMLoss', drw_epoch=1))
    samples = [DataSample().set_gt_label(i % 5) for i in range(6)]
    feats = (torch.rand(6, 8), )
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        head.loss(feats, samples)
    head.loss_module.set_class_counts(COUNTS)
    head.loss_module.set_epoch(0)
    plain = head.loss(feats, samples)['loss']
    head.loss_module.set_epoch(1)
    weighted = head.loss(feats, samples)['loss']
    assert torch.isfinite(plain) and torch.isfinite(weighted)
    assert not torch.allclose(plain, weighted)
    # Counts are a persistent buffer and load into a loss built without.
    fresh = LDAMLoss()
    fresh.load_state_dict(head.loss_module.state_dict())
    torch.testing.assert_close(fresh.class_counts,
                               torch.tensor(COUNTS, dtype=torch.float64))
    with pytest.raises(ValueError, match='6 classes'):
        LDAMLoss(class_counts=[1] * 6)(torch.rand(2, 5), torch.tensor([0, 1]))


# ----------------------------------------------------------------------
# RIDE loss
# ----------------------------------------------------------------------
def ref_ride(z, target, counts, drw, diversity=-0.45, base_t=1.0,
             reweight_factor=0.05):
    """Slow RIDE loss: sum over experts of LDAM-DRW + lambda T_mean^2 KL."""
    num_experts, batch, num_classes = len(z), len(z[0]), len(z[0][0])
    if drw:
        total = sum(counts)
        v = [num_classes * n / total * reweight_factor + 1 - reweight_factor
             for n in counts]
        temp = [base_t * vc / max(v) for vc in v]
    else:
        temp = [base_t] * num_classes
    t_mean = sum(temp) / num_classes
    mean = [[sum(z[m][b][c] for m in range(num_experts)) / num_experts
             for c in range(num_classes)] for b in range(batch)]

    def softmax(row):
        scaled = [row[c] / temp[c] for c in range(num_classes)]
        top = max(scaled)
        e = [math.exp(v - top) for v in scaled]
        return [v / sum(e) for v in e]

    loss = 0.0
    for m in range(num_experts):
        loss += ref_ldam(z[m], target, counts, drw)
        kl = 0.0
        for b in range(batch):
            p = softmax(mean[b])
            q = softmax(z[m][b])
            kl += sum(pc * (math.log(pc) - math.log(qc))
                      for pc, qc in zip(p, q))
        loss += diversity * t_mean**2 * kl / batch
    return loss


def test_ride_loss_against_reference_loop():
    z = _logits(3, 8, 5, seed=1)
    y = torch.tensor([0, 1, 2, 3, 4, 0, 0, 2])
    loss = RIDELoss(class_counts=COUNTS, drw_epoch=160)
    assert loss.takes_expert_logits and loss.loss_name == 'loss_ride'
    before = ref_ride(z.tolist(), y.tolist(), COUNTS, drw=False)
    after = ref_ride(z.tolist(), y.tolist(), COUNTS, drw=True)
    assert abs(before - after) > 1e-3
    for epoch, want in [(3, before), (159, before), (160, after),
                        (180, after)]:
        loss.set_epoch(epoch)
        got = loss(z, y)
        assert got.dtype == torch.float64
        assert abs(got.item() - want) < 1e-6, epoch
    # A list of M (B, C) tensors is the same input.
    assert abs(loss(list(z), y).item() - after) < 1e-6


def test_ride_loss_diversity_gradient():
    """The KL target softmax(mean / T) is detached (no_grad, as the
    reference). Its gradient path would contribute nothing anyway: summed
    over the experts, log p_bar - log q_m is constant over the classes, and
    the softmax Jacobian removes constants. So autograd matches both the
    detached formula and a finite-difference check, before and after the
    class-dependent temperature."""
    y = torch.tensor([0, 1, 2, 3])
    for epoch in (0, 7):
        loss = RIDELoss(class_counts=COUNTS, drw_epoch=5)
        loss.set_epoch(epoch)
        z = _logits(3, 4, 5, seed=2).div(10).requires_grad_()
        loss(z, y).backward()
        temp = loss.diversity_temperature()
        if isinstance(temp, torch.Tensor):
            t_mean, temp = temp.mean().item(), temp.view(1, -1)
        else:
            t_mean = temp
        z2 = z.detach().clone().requires_grad_()
        target = F.softmax(z2.mean(0) / temp, dim=1).detach()
        want = sum(
            loss.ldam(z2[m], y) - 0.45 * t_mean**2 *
            F.kl_div(F.log_softmax(z2[m] / temp, dim=1), target,
                     reduction='batchmean') for m in range(3))
        want.backward()
        torch.testing.assert_close(z.grad, z2.grad)
        assert torch.autograd.gradcheck(lambda x: loss(x, y),
                                        (z.detach().requires_grad_(), ))


def test_ride_loss_base_on_mean_rule():
    z = _logits(3, 6, 5, seed=3)
    y = torch.tensor([0, 1, 2, 3, 4, 1])
    # The reference: with no diversity term the base loss sees the mean.
    got = RIDELoss(class_counts=COUNTS, diversity_factor=0.0)(z, y)
    want = 3 * ref_ldam(z.mean(0).tolist(), y.tolist(), COUNTS, False)
    assert abs(got.item() - want) < 1e-9
    forced = RIDELoss(
        class_counts=COUNTS, diversity_factor=0.0, base_on_mean=False)(z, y)
    want = sum(ref_ldam(z[m].tolist(), y.tolist(), COUNTS, False)
               for m in range(3))
    assert abs(forced.item() - want) < 1e-9


def test_ride_loss_counts_and_errors():
    loss = MODELS.build(dict(type='RIDELoss', drw_epoch=5))
    assert not loss.has_class_counts
    with pytest.raises(RuntimeError, match='ClassCountsHook'):
        loss(torch.rand(2, 3, 5), torch.tensor([0, 1, 2]))
    loss.set_class_counts(COUNTS)
    assert torch.equal(loss.ldam.class_counts,
                       torch.tensor(COUNTS, dtype=torch.float64))
    assert 'ldam.class_counts' in loss.state_dict()
    with pytest.raises(ValueError, match='reweight_factor'):
        RIDELoss(reweight_factor=1.5)
    with pytest.raises(ValueError, match=r'\(M, B, C\)'):
        loss(torch.rand(3, 5), torch.tensor([0, 1, 2]))


# ----------------------------------------------------------------------
# router
# ----------------------------------------------------------------------
def ref_router_targets(z, target):
    num_experts, batch = len(z), len(z[0])
    out = []
    for i in range(num_experts - 1):
        row = []
        for b in range(batch):
            correct = []
            for j in range(num_experts):
                summed = [
                    sum(z[k][b][c] for k in range(j + 1))
                    for c in range(len(z[0][0]))
                ]
                correct.append(summed.index(max(summed)) == target[b])
            row.append((not correct[i]) and any(correct[i + 1:]))
        out.append(row)
    return out


def test_router_targets_tiny_batch():
    # 3 experts, 4 classes, 5 samples, label 0 everywhere.
    z = torch.tensor([
        [[5., 0, 0, 0], [0, 5, 0, 0], [0, 5, 0, 0], [0, 5, 0, 0],
         [0, 5, 0, 0]],
        [[0., 9, 0, 0], [9, 0, 0, 0], [4, 0, 0, 0], [0, 0, 0, 0],
         [4, 0, 0, 0]],
        [[0., 0, 0, 0], [0, 0, 0, 0], [2, 0, 0, 0], [9, 0, 0, 0],
         [0, 0, 0, 3]],
    ])
    y = torch.tensor([0, 0, 0, 0, 0])
    # sample 0: ensemble right at once -> no help needed anywhere.
    # sample 1: 0..1 right -> router 0 yes; router 1 no (already right).
    # sample 2: expert 1 alone is right but 0..1 is wrong (4 < 5); 0..2
    #   (6 > 5) is right -> both routers yes.
    # sample 3: only 0..2 right (9 > 5) -> both yes.
    # sample 4: expert 1 alone is right, but no running ensemble is ->
    #   both no (the later *ensembles* are checked, not single experts).
    want = torch.tensor([[False, True, True, True, False],
                         [False, False, True, True, False]])
    got = router_targets(z, y)
    assert torch.equal(got, want)
    assert got.tolist() == ref_router_targets(z.tolist(), y.tolist())
    # Random batch against the slow loops.
    z = torch.randn(4, 9, 6, generator=torch.Generator().manual_seed(0))
    y = torch.randint(0, 6, (9, ), generator=torch.Generator().manual_seed(1))
    assert router_targets(z, y).tolist() == ref_router_targets(
        z.tolist(), y.tolist())


def test_router_forward_matches_equations():
    torch.manual_seed(0)
    router = ExpertRouter(in_channels=[6, 5, 4], num_experts=3, top_k=3)
    router.init_weights()
    feats = [torch.rand(2, 6), torch.rand(2, 5), torch.rand(2, 4)]
    z = torch.randn(3, 2, 7)
    gates = router(feats, z)
    assert gates.shape == (2, 2)
    for i in range(2):
        running = z[:i + 1].mean(0)
        for b in range(2):
            f = feats[i][b] / feats[i][b].norm()
            h = torch.relu(router.hidden_fcs[i].weight @ f +
                           router.hidden_fcs[i].bias)
            top = sorted(running[b].tolist(), reverse=True)[:3]
            x = torch.cat([torch.tensor(top), h])
            want = router.fc.weight[0] @ x + router.fc.bias[0]
            assert abs(gates[i, b].item() - want.item()) < 1e-5
    assert sum(p.numel() for p in router.parameters()) == (
        6 * 16 + 16 + 5 * 16 + 16 + (3 + 16) + 1)
    with pytest.raises(ValueError, match='top_k'):
        ExpertRouter(4, num_experts=3, top_k=8)(feats, z)


def test_router_loss_equation_and_gradients():
    gates = torch.tensor([[2.0, -1.0, 0.5], [-3.0, 0.0, 1.0]])
    targets = torch.tensor([[True, False, True], [False, False, True]])
    want = 0.0
    for i in range(2):
        row = 0.0
        for g, t in zip(gates[i].tolist(), targets[i].tolist()):
            sig = 1 / (1 + math.exp(-g))
            row += -(100 * math.log(sig) if t else math.log(1 - sig))
        want += row / 3
    want /= 2
    assert abs(router_loss(gates, targets, 100.0).item() - want) < 1e-5

    torch.manual_seed(0)
    router = MODELS.build(
        dict(type='ExpertRouter', in_channels=4, num_experts=3, top_k=2))
    feats = [torch.rand(5, 4, requires_grad=True) for _ in range(3)]
    z = torch.randn(3, 5, 3, requires_grad=True)
    loss = router.loss(feats, z, torch.randint(0, 3, (5, )))
    loss.backward()
    assert z.grad is None and all(f.grad is None for f in feats)
    assert router.fc.weight.grad is not None


def test_routed_predict_and_experts_used():
    z = torch.randn(3, 4, 5)
    # sample 0 stops after 1, sample 1 after 2, samples 2-3 use all 3.
    gates = torch.tensor([[-1.0, 2.0, 3.0, 0.1], [5.0, -0.5, 1.0, 2.0]])
    logits, used = routed_predict(gates, z)
    assert used.tolist() == [1, 2, 3, 3]
    torch.testing.assert_close(logits[0], z[0, 0])
    torch.testing.assert_close(logits[1], z[:2, 1].mean(0))
    torch.testing.assert_close(logits[2:], z[:, 2:].mean(0))
    # Exactly 0.5 stops (continue only if sigmoid > 0.5).
    _, used = routed_predict(torch.zeros(2, 4), z)
    assert used.tolist() == [1, 1, 1, 1]
    # A built router: mean experts used within [1, M].
    router = ExpertRouter(8, num_experts=3, top_k=4)
    router.init_weights()
    feats = [torch.rand(16, 8) for _ in range(3)]
    logits, used = router.predict(feats, torch.randn(3, 16, 5))
    assert logits.shape == (16, 5) and used.dtype == torch.long
    assert 1 <= used.float().mean().item() <= 3
    assert used.min() >= 1 and used.max() <= 3


def test_routing_relative_flops():
    # shared 10, experts 20 each, all experts: 70.
    assert routing_relative_flops([3, 3], 10, 20, num_experts=3) == 1.0
    # one expert: 30 / 70; half and half with 2: (30 + 50) / 2 / 70.
    assert math.isclose(
        routing_relative_flops([1], 10, [20, 20, 20]), 30 / 70)
    assert math.isclose(
        routing_relative_flops(torch.tensor([1, 2]), 10, 20, num_experts=3),
        40 / 70)
    # router cost: 1 expert -> 1 router, 3 experts -> 2 routers.
    assert math.isclose(
        routing_relative_flops([1, 3], 10, 20, router_flops=1, num_experts=3),
        ((30 + 1) + (70 + 2)) / 2 / 70)
    with pytest.raises(ValueError, match=r'\[1, 3\]'):
        routing_relative_flops([0, 4], 10, 20, num_experts=3)
