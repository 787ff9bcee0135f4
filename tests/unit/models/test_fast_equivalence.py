# Copyright (c) shike-mm contributors. All rights reserved.
"""The optimised SHIKE model against the straightforward reference.

``shike_mm/testing/plain_shike.py`` writes the network and the stage-1 loss the
plain way (one module per expert in a Python loop, per-expert loss terms in
lists, NCHW); with the same weights the real model (grouped expert execution,
channels-last, vectorised losses) must give the same logits,
losses, gradients and BN statistics.
"""
import copy
import os.path as osp

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner.checkpoint import load_checkpoint
from mmpretrain.registry import MODELS

import shike_mm  # noqa: F401
from shike_mm.models import MultiExpertResNet, SHIKEResNet
from shike_mm.models.backbones.grouped_experts import (can_group,
                                                       grouped_forward)
from shike_mm.models.losses.mutual_kl_loss import mutual_kl_loss
from shike_mm.testing.plain_shike import PlainSHIKE, plain_losses
from tests.helpers.real_shike import NUM_CLASSES, REPO, batch, build_real


def build_plain_like(real):
    plain = PlainSHIKE(num_classes=NUM_CLASSES)
    missing, unexpected = plain.load_state_dict(
        {
            k: v
            for k, v in real.state_dict().items()
            if k != 'head.retraining_flag'
        },
        strict=True)
    assert not missing and not unexpected
    return plain


def test_plain_reference_is_the_same_size():
    real = build_real()
    plain = build_plain_like(real)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(plain) == count(real)
    assert set(plain.state_dict()) == set(
        real.state_dict()) - {'head.retraining_flag'}


@pytest.mark.parametrize(
    'grouped,channels_last,dtype',
    [
        (True, False, torch.float32),
        (False, False, torch.float32),  # the default
        (True, False, torch.float64),
        (True, True, torch.float64),
        (False, True, torch.float64),
    ])
def test_training_step_matches_plain(grouped, channels_last, dtype):
    """Same logits and losses (1e-5) and gradients (1e-4), element-wise.

    float64 isolates the mathematics: every variant, grouped (opt-in)
    and channels-last included, matches the plain
    model (observed: 1e-13). In float32 the NCHW variants run the same
    convolution and BatchNorm kernels as the plain model in another
    grouping and match too. Channels-last is not compared element-wise in
    float32: it runs other kernels, and gradients flowing back through
    training-mode BN are differences of nearly equal terms, so any other
    rounding moves some entries by percents of their tensor's largest
    entry. On this 6-image batch both the NCHW and the channels-last
    float32 gradients are up to 11 % off the float64 ones (one BN bias);
    they only agree with each other where they round alike.
    """
    real = build_real(
        grouped_experts=grouped, channels_last=channels_last).train()
    plain = build_plain_like(real).train()
    real.to(dtype)
    plain.to(dtype)
    inputs, target, samples = batch()
    inputs = inputs.to(dtype)

    def check(actual, expected, tol, name=''):
        torch.testing.assert_close(
            actual, expected, rtol=tol, atol=tol, msg=lambda m: f'{name}: {m}')

    feats = real.extract_feat(inputs)
    logits = real.head.forward_experts(feats)
    losses = real.head.loss(feats, samples)
    plain_logits = plain(inputs)
    plain_loss = plain_losses(plain_logits, target)

    check(logits, torch.stack(plain_logits), 1e-5, 'logits')
    assert set(losses) == set(plain_loss)
    for key in losses:
        check(losses[key].to(dtype), plain_loss[key], 1e-5, key)

    sum(losses.values()).backward()
    sum(plain_loss.values()).backward()
    real_params = dict(real.named_parameters())
    checked = 0
    for name, param in plain.named_parameters():
        if name.startswith('head.retrain_classifiers'):
            assert param.grad is None and real_params[name].grad is None
            continue
        check(real_params[name].grad, param.grad, 1e-4, name)
        checked += 1
    assert checked == len(real_params) - 3
    # One forward each (the loss reuses the features): the grouped BN wrote
    # the same running statistics back into every expert's buffers.
    real_buffers = dict(real.named_buffers())
    for name, buf in plain.named_buffers():
        if buf.is_floating_point():
            check(real_buffers[name], buf, 1e-5, name)
        else:
            assert torch.equal(real_buffers[name], buf), name


def test_old_layout_checkpoint_loads_and_predicts_the_same(tmp_path):
    """A checkpoint in the per-expert layout (``backbone.experts.{m}.*``,
    ``backbone.fusion_layers.{m}.*``) written by the plain model loads into
    the grouped, channels-last model and predicts the same."""
    source = build_real(grouped_experts=False, channels_last=False)
    plain = build_plain_like(source).eval()
    ckpt = tmp_path / 'per_expert_layout.pth'
    torch.save(dict(state_dict=plain.state_dict()), ckpt)
    assert any(
        k.startswith('backbone.experts.2.layer3.') for k in plain.state_dict())

    torch.manual_seed(123)  # different random init
    cfg = Config.fromfile(
        osp.join(REPO, 'configs', '_base_', 'models', 'shike_r32_cifar.py'))
    cfg.model.head.num_classes = NUM_CLASSES
    cfg.model.backbone.update(grouped_experts=True, channels_last=True)
    model = MODELS.build(cfg.model).eval()
    load_checkpoint(model, str(ckpt), strict=False)
    inputs, _, _ = batch()
    with torch.no_grad():
        expected = F.softmax(sum(plain(inputs)) / 3, dim=1)
        preds = model.predict(inputs)
    scores = torch.stack([p.pred_score for p in preds])
    torch.testing.assert_close(scores, expected, rtol=1e-5, atol=1e-6)


def _loop_vs_grouped(modules, x, shared=True):
    with torch.no_grad():
        inp = x if shared else x.chunk(len(modules), dim=1)
        if shared:
            expected = torch.cat([m(x) for m in modules], dim=1)
        else:
            expected = torch.cat([m(i) for m, i in zip(modules, inp)], dim=1)
    out = grouped_forward(modules, x, shared)
    return out, expected


@pytest.mark.parametrize('kwargs', [
    dict(depth=50, stem_channels=8, base_channels=8),
    dict(
        depth=50,
        stem_channels=8,
        base_channels=8,
        groups=4,
        width_per_group=2),
    dict(
        depth=50,
        stem_channels=8,
        base_channels=8,
        avg_down=True,
        style='caffe'),
])
def test_grouped_bottleneck_stages(kwargs):
    """ResNet / ResNeXt bottlenecks, avg-down shortcuts, caffe style, and
    two per-expert stages (input shared, then stacked)."""
    torch.manual_seed(0)
    model = MultiExpertResNet(num_experts=3, num_shared_stages=2, **kwargs)
    experts = list(model.experts)
    assert can_group(experts)
    x = torch.randn(2, model.stage_channels[1], 8, 8)
    for m in experts:
        m.eval()
    out, expected = _loop_vs_grouped(experts, x)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # the second expert stage alone, on stacked per-expert inputs
    stage4 = [e.layer4 for e in experts]
    x4 = torch.randn(2, 3 * model.stage_channels[2], 4, 4)
    out, expected = _loop_vs_grouped(stage4, x4, shared=False)
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)


def test_unsupported_layers_fall_back_to_the_loop():
    model = SHIKEResNet(depth=20, with_cp=True).train()
    assert not can_group(list(model.experts))
    model = SHIKEResNet(depth=20, grouped_experts=True).train()
    assert can_group(list(model.experts))
    model.experts[1].layer3[0].bn1.eval()  # BN modes differ
    assert not can_group(list(model.experts))
    x = torch.randn(2, 3, 32, 32)
    reference = copy.deepcopy(model)
    reference.grouped_experts = False
    torch.testing.assert_close(model(x), reference(x))
    # momentum=None (cumulative average) is not grouped either
    bns = [nn.BatchNorm2d(4, momentum=None) for _ in range(2)]
    assert not can_group(bns)
    assert not can_group([nn.Conv2d(4, 4, 3), nn.Conv2d(4, 4, 1)])
    assert not can_group([nn.GELU(), nn.GELU()])


def _mutual_loop(z, temperature=1.0, detach_target=False):
    """The former per-expert loop of mutual_kl_loss, kept as reference."""
    num_experts, batch_size, num_classes = z.shape
    log_p = F.log_softmax(z / temperature, dim=-1)
    loss = z.new_zeros(())
    for j in range(num_experts):
        log_t = log_p[j].detach() if detach_target else log_p[j]
        others = torch.cat([log_p[:j], log_p[j + 1:]], dim=0)
        loss = loss + (log_t.exp() * (log_t - others)).sum()
    return loss * temperature**2 / (batch_size * num_classes)


@pytest.mark.parametrize('detach_target', [False, True])
@pytest.mark.parametrize('num_experts', [2, 3, 4])
def test_vectorised_mutual_kl_matches_loop(detach_target, num_experts):
    gen = torch.Generator().manual_seed(num_experts)
    z = (torch.randn(num_experts, 5, 7, generator=gen, dtype=torch.float64) *
         8).requires_grad_()
    z_ref = z.detach().clone().requires_grad_()
    loss = mutual_kl_loss(z, temperature=2.0, detach_target=detach_target)
    expected = _mutual_loop(
        z_ref, temperature=2.0, detach_target=detach_target)
    torch.testing.assert_close(loss, expected, rtol=1e-12, atol=1e-12)
    loss.backward()
    expected.backward()
    torch.testing.assert_close(z.grad, z_ref.grad, rtol=1e-10, atol=1e-12)


def test_frozen_backbone_records_no_graph():
    """Stage 2 (every backbone parameter frozen, as StageSwitchHook
    does): the grouped forward builds no autograd graph, so the frozen
    backbone costs a forward pass only."""
    model = SHIKEResNet(depth=20, grouped_experts=True).train()
    for p in model.parameters():
        p.requires_grad_(False)
    outs = model(torch.randn(2, 3, 32, 32))
    assert all(o.grad_fn is None and not o.requires_grad for o in outs)
    # with trainable experts the graph exists (the check above can fail)
    model.experts[0].requires_grad_(True)
    outs = model(torch.randn(2, 3, 32, 32))
    assert outs[0].grad_fn is not None
