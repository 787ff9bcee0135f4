# Copyright (c) shike-mm contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
from mmengine.utils.dl_utils.parrots_wrapper import _BatchNorm
from mmpretrain.models import ResNet

from shike_mm.models import MultiExpertResNet, SHIKEResNet


def build_fast(**kwargs):
    """Build on the meta device and fill constants: skips the slow random
    init of ~100M-parameter ImageNet models (shape checks only)."""
    with torch.device('meta'):
        model = SHIKEResNet(**kwargs)
    model.to_empty(device='cpu')
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(0.01)
        for name, buf in model.named_buffers():
            buf.fill_(1 if name.endswith('running_var') else 0)
    return model.eval()


def _relu_pattern(chain):
    return [unit.with_activation for unit in chain]


@pytest.mark.parametrize('num_experts', [1, 2, 3, 4])
def test_r32_cifar_shapes(num_experts):
    model = SHIKEResNet(depth=32, num_experts=num_experts).eval()
    # Default CIFAR rule: expert m fuses shared stage (m mod 2) + 1.
    assert model.fusion_stages == tuple(m % 2 + 1 for m in range(num_experts))
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 32, 32))
    assert isinstance(outs, tuple) and len(outs) == num_experts
    assert all(o.shape == (2, 64, 8, 8) for o in outs)


@pytest.mark.parametrize('kwargs,num_experts,fusion_stages', [
    (dict(depth=50), 1, None),
    (dict(depth=50), 2, None),
    (dict(depth=50), 3, None),
    (dict(depth=50), 4, (1, 2, 3, 3)),
    (dict(depth=50, groups=32, width_per_group=4), 3, None),
    (dict(depth=152), 3, None),
])
def test_imagenet_shapes(kwargs, num_experts, fusion_stages):
    model = build_fast(
        num_experts=num_experts, fusion_stages=fusion_stages, **kwargs)
    if fusion_stages is None:
        assert model.fusion_stages == tuple(range(1, num_experts + 1))
    with torch.no_grad():
        outs = model(torch.rand(1, 3, 32, 32))
    assert len(outs) == num_experts
    assert all(o.shape == (1, 2048, 1, 1) for o in outs)


def test_imagenet_stage_widths_and_chains():
    model = SHIKEResNet(depth=50, stem_channels=8, base_channels=8)
    assert model.stage_channels == (32, 64, 128, 256)
    lengths = [len(chain) for chain in model.fusion_layers]
    assert lengths == [3, 2, 1]
    # Channels double and stride 2 at every unit; ReLU except position 1.
    chain = model.fusion_layers[0]
    assert [(u.conv.in_channels, u.conv.out_channels)
            for u in chain] == [(32, 64), (64, 128), (128, 256)]
    assert all(u.conv.stride == (2, 2) and u.conv.bias is None for u in chain)
    assert _relu_pattern(chain) == [True, False, True]
    assert _relu_pattern(model.fusion_layers[1]) == [True, False]
    assert _relu_pattern(model.fusion_layers[2]) == [True]
    # Odd spatial sizes still align (224 -> 7; 100 -> 4).
    with torch.no_grad():
        outs = model.eval()(torch.rand(1, 3, 100, 100))
    assert outs[0].shape == (1, 256, 4, 4)


def test_r32_chains_and_hadamard():
    model = SHIKEResNet(depth=32).eval()
    assert [len(c) for c in model.fusion_layers] == [2, 1, 2]
    assert _relu_pattern(model.fusion_layers[0]) == [True, False]
    assert _relu_pattern(model.fusion_layers[1]) == [True]
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        outs = model(x)
        f1 = model.layer1(model.forward_stem(x))
        f2 = model.layer2(f1)
        for m, stage_feat in enumerate([f1, f2, f1]):
            expected = model.experts[m](f2) * model.fusion_layers[m](
                stage_feat)
            torch.testing.assert_close(outs[m], expected)


def test_fusion_errors():
    with pytest.raises(ValueError, match='fusion_stages explicitly'):
        SHIKEResNet(depth=50, num_experts=4)
    with pytest.raises(ValueError, match='1-based shared stage'):
        SHIKEResNet(depth=32, num_experts=2, fusion_stages=(1, 3))
    with pytest.raises(ValueError, match='one stage per expert'):
        SHIKEResNet(depth=32, num_experts=3, fusion_stages=(1, 2))
    with pytest.raises(ValueError, match='fusion must be'):
        SHIKEResNet(depth=32, fusion='concat')
    with pytest.raises(KeyError, match='invalid depth'):
        SHIKEResNet(depth=33)
    # The cyclic rule is defined for any number of experts.
    model = SHIKEResNet(
        depth=50,
        num_experts=4,
        fusion_rule='cyclic',
        stem_channels=8,
        base_channels=8)
    assert model.fusion_stages == (1, 2, 3, 1)


def test_plain_moe_without_fusion():
    for fusion in (None, False):
        model = SHIKEResNet(depth=32, fusion=fusion).eval()
        assert len(model.fusion_layers) == 0
        x = torch.rand(1, 3, 32, 32)
        with torch.no_grad():
            outs = model(x)
            f2 = model.forward_shared(x)[-1]
            for m in range(3):
                torch.testing.assert_close(outs[m], model.experts[m](f2))


def test_ride_style_split():
    """Stem + stage 1 shared, stages 2-3 per expert and narrowed."""
    model = MultiExpertResNet(
        depth=32, num_shared_stages=1, expert_channels=(24, 48)).eval()
    assert not hasattr(model, 'layer2')
    assert [name for name, _ in model.experts[0].named_children()
            ] == ['layer2', 'layer3']
    with torch.no_grad():
        outs = model(torch.rand(2, 3, 32, 32))
    assert len(outs) == 3 and outs[0].shape == (2, 48, 8, 8)


def test_frozen_stages_and_norm_eval():
    model = SHIKEResNet(
        depth=50, stem_channels=8, base_channels=8, frozen_stages=3)
    model.train()
    shared = [
        model.conv1, model.norm1, model.layer1, model.layer2, model.layer3
    ]
    for module in shared:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules())
    for module in (model.experts, model.fusion_layers):
        assert all(p.requires_grad for p in module.parameters())
        assert all(m.training for m in module.modules())
    # A stage index above the shared part freezes it in every expert.
    model = SHIKEResNet(depth=32, frozen_stages=3)
    assert all(not p.requires_grad for p in model.experts.parameters())
    assert all(p.requires_grad for p in model.fusion_layers.parameters())
    model = SHIKEResNet(depth=32, norm_eval=True).train()
    assert all(not m.training for m in model.modules()
               if isinstance(m, _BatchNorm))


@pytest.mark.parametrize('depth', [18, 50])
def test_pretrained_single_path_init(tmp_path, depth):
    torch.manual_seed(0)
    plain = ResNet(depth=depth, stem_channels=8, base_channels=8)
    plain.init_weights()
    for m in plain.modules():  # non-trivial BN statistics
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_()
            m.weight.data.uniform_()
    plain_sd = plain.state_dict()
    ckpt = tmp_path / 'resnet.pth'
    torch.save(plain_sd, ckpt)
    # A full classifier checkpoint: 'state_dict' with a 'backbone.' prefix.
    full = tmp_path / 'classifier.pth'
    torch.save(
        dict(state_dict={
            f'backbone.{k}': v
            for k, v in plain_sd.items()
        }), full)

    # mmengine's own Pretrained init loads; the backbone maps the single
    # stage 4 onto every expert while loading.
    for path, prefix in ((ckpt, None), (full, 'backbone.')):
        model = SHIKEResNet(
            depth=depth,
            stem_channels=8,
            base_channels=8,
            init_cfg=dict(
                type='Pretrained', checkpoint=str(path), prefix=prefix))
        model.init_weights()
        sd = model.state_dict()
        for key, value in plain_sd.items():
            if key.startswith('layer4.'):
                for m in range(3):
                    assert torch.equal(sd[f'experts.{m}.{key}'], value), key
            else:
                assert torch.equal(sd[key], value), key
        # Alignment layers are not in the checkpoint: Kaiming init, unit BN.
        conv = model.fusion_layers[0][0].conv.weight
        fan_in = conv[0].numel()
        assert conv.std().item() == pytest.approx((2 / fan_in)**0.5, rel=0.2)
        assert torch.all(model.fusion_layers[0][0].bn.weight == 1)


def test_default_init_is_kaiming_fan_in():
    model = SHIKEResNet(depth=32)
    model.init_weights()
    weight = model.experts[1].layer3[2].conv1.weight
    assert weight.std().item() == pytest.approx(
        (2 / weight[0].numel())**0.5, rel=0.1)
    # No zero-init residual by default (BN defaults, as the reference).
    assert torch.all(model.experts[1].layer3[2].bn2.weight == 1)


@pytest.mark.parametrize('size', [224, 100, 33])
def test_light_fusion_alignment(size):
    """'pool_conv1x1': AvgPool over the skipped stride + 1x1 conv-BN-ReLU,
    the same output size as the 3x3 chain (odd sizes included)."""
    kwargs = dict(depth=50, stem_channels=8, base_channels=8)
    light = SHIKEResNet(fusion_align='pool_conv1x1', **kwargs).eval()
    chain = SHIKEResNet(**kwargs).eval()
    pools = [c[0] for c in light.fusion_layers]
    assert [p.kernel_size for p in pools] == [8, 4, 2]
    assert [(c[1].conv.in_channels, c[1].conv.out_channels)
            for c in light.fusion_layers] == [(32, 256), (64, 256), (128, 256)]
    assert all(c[1].conv.kernel_size == (1, 1) and c[1].with_activation
               for c in light.fusion_layers)
    # 1x1 weights (C_s x 256) + BN affine (2 x 256) per expert
    assert sum(p.numel() for p in light.fusion_layers.parameters()) == \
        (32 + 64 + 128) * 256 + 3 * 2 * 256
    x = torch.rand(1, 3, size, size)
    with torch.no_grad():
        shared = light.forward_shared(x)
        aligned = light.align(shared)
        chain_aligned = chain.align(chain.forward_shared(x))
        outs = light(x)
        # pooling then a 1x1 conv == the 1x1 conv then pooling
        unit = light.fusion_layers[0][1]
        full_res = unit.conv(shared[1])
        expected = unit.activate(unit.bn(pools[0](full_res)))
    assert [a.shape for a in aligned] == [a.shape for a in chain_aligned]
    assert all(o.shape == chain_aligned[0].shape for o in outs)
    torch.testing.assert_close(aligned[0], expected, rtol=1e-5, atol=1e-5)


def test_fusion_align_error():
    with pytest.raises(ValueError, match='fusion_align must be one of'):
        SHIKEResNet(depth=32, fusion_align='conv1x1')


def test_channels_last_keeps_init_and_outputs():
    """Same seed, same initial weights; outputs equal up to rounding."""
    models = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        model = SHIKEResNet(depth=20, channels_last=channels_last)
        model.init_weights()
        models.append(model.eval())
    plain, fast = models
    assert fast.experts[0].layer3[0].conv1.weight.is_contiguous(
        memory_format=torch.channels_last)
    for (name, a), (_, b) in zip(plain.state_dict().items(),
                                 fast.state_dict().items()):
        assert torch.equal(a, b), name
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        for a, b in zip(plain(x), fast(x)):
            # float rounding of other kernels: relative to the map's scale
            assert (a - b).abs().max() <= 2e-5 * a.abs().max()


def test_single_path_keys_map_on_load_state_dict():
    """load_state_dict itself maps a plain ResNet's stage 4 onto every
    expert (the path mmengine's Pretrained init takes)."""
    torch.manual_seed(0)
    plain = ResNet(depth=18, stem_channels=8, base_channels=8)
    model = SHIKEResNet(depth=18, stem_channels=8, base_channels=8)
    result = model.load_state_dict(plain.state_dict(), strict=False)
    assert result.unexpected_keys == []
    assert all(k.startswith('fusion_layers.') for k in result.missing_keys)
    for m in range(3):
        assert torch.equal(model.experts[m].layer4[1].conv2.weight,
                           plain.layer4[1].conv2.weight)
    assert torch.equal(model.layer3[0].conv1.weight,
                       plain.layer3[0].conv1.weight)
