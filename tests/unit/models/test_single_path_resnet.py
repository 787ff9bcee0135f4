# Copyright (c) shike-mm contributors. All rights reserved.
"""The single-path ResNet of the baselines: a plain ResNet's names, shapes
and parameter count, from the multi-expert construction."""
import pytest
import torch
from mmpretrain.registry import MODELS

from shike_mm.models import MultiExpertResNet, SinglePathResNet


def resnet_cifar_params(blocks=(5, 5, 5), widths=(16, 32, 64),
                        projection=True):
    """Parameters of the CIFAR ResNet of He et al. (2016, Sec. 4.2),
    counted from its description: 3x3 conv stem to 16 channels + BN, three
    stages of basic blocks (two 3x3 convs + BN each), no conv bias, and
    where the shape changes a 1x1 conv + BN shortcut (``projection``) or
    the parameter-free zero-padding shortcut (option A)."""
    def conv(cin, cout, k):
        return cin * cout * k * k

    def bn(c):
        return 2 * c

    total = conv(3, 16, 3) + bn(16)
    cin = 16
    for n, w in zip(blocks, widths):
        for i in range(n):
            total += conv(cin, w, 3) + bn(w) + conv(w, w, 3) + bn(w)
            if i == 0 and cin != w and projection:
                total += conv(cin, w, 1) + bn(w)
            cin = w
    return total


def test_parameter_count_of_resnet32_with_linear_head():
    backbone = SinglePathResNet(depth=32)
    n_backbone = sum(p.numel() for p in backbone.parameters())
    assert n_backbone == resnet_cifar_params()  # 466,256
    # The standard "0.46 M" ResNet-32 is option A (zero-padding shortcuts,
    # as the LDAM-DRW / RIDE reference code): the two projections add
    # 16*32 + 2*32 + 32*64 + 2*64 = 2,752 parameters.
    assert resnet_cifar_params(projection=False) == 463504
    assert n_backbone - 463504 == 2752

    model = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='SinglePathResNet', depth=32),
             neck=dict(type='GlobalAveragePooling'),
             head=dict(type='LinearClsHead', num_classes=100,
                       in_channels=64)))
    n_model = sum(p.numel() for p in model.parameters())
    assert n_model == resnet_cifar_params() + 64 * 100 + 100 == 472756
    assert round(n_model / 1e6, 2) == 0.47


def test_plain_names_shapes_and_no_experts():
    backbone = SinglePathResNet(depth=32)
    keys = list(backbone.state_dict())
    assert not any('expert' in k for k in keys)
    assert {k.split('.')[0] for k in keys} == {'conv1', 'bn1', 'layer1',
                                               'layer2', 'layer3'}
    assert len(backbone.layer3) == 5
    out = backbone(torch.rand(2, 3, 32, 32))
    assert isinstance(out, tuple) and len(out) == 1
    assert out[0].shape == (2, 64, 8, 8)
    out = SinglePathResNet(depth=20, out_indices=(0, 1, 2))(
        torch.rand(1, 3, 28, 28))
    assert [tuple(o.shape) for o in out] == [(1, 16, 28, 28),
                                            (1, 32, 14, 14), (1, 64, 7, 7)]
    with pytest.raises(TypeError, match='num_experts'):
        SinglePathResNet(depth=32, num_experts=2)
    with pytest.raises(ValueError, match='out_indices'):
        SinglePathResNet(depth=32, out_indices=(3, ))
    with pytest.raises(KeyError, match='invalid depth'):
        SinglePathResNet(depth=33)


def test_same_function_as_the_one_expert_multi_expert_resnet():
    """Same construction path: with the weights of a one-expert
    MultiExpertResNet the single path computes the same features."""
    torch.manual_seed(0)
    multi = MultiExpertResNet(depth=20, num_experts=1)
    multi.init_weights()
    single = SinglePathResNet(depth=20)
    state = {k.replace('experts.0.', ''): v
             for k, v in multi.state_dict().items()}
    single.load_state_dict(state, strict=True)
    multi.eval()
    single.eval()
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(multi(x)[0], single(x)[0])


def test_frozen_stages_cover_the_last_stage():
    backbone = SinglePathResNet(depth=20, frozen_stages=3)
    backbone.train()
    assert not any(p.requires_grad for p in backbone.parameters())
    assert not backbone.layer3.training
    partly = SinglePathResNet(depth=20, frozen_stages=2)
    assert all(p.requires_grad for p in partly.layer3.parameters())
    assert not any(p.requires_grad for p in partly.layer2.parameters())


@pytest.mark.parametrize('head', [
    dict(type='LinearClsHead', num_classes=10, in_channels=64),
    dict(type='CosineClsHead', num_classes=10, in_channels=64, scale=30.0),
])
def test_trains_with_linear_and_cosine_heads(head):
    from mmpretrain.structures import DataSample
    torch.manual_seed(0)
    model = MODELS.build(
        dict(type='ImageClassifier',
             backbone=dict(type='SinglePathResNet', depth=20),
             neck=dict(type='GlobalAveragePooling'), head=head))
    model.init_weights()
    x = torch.rand(8, 3, 16, 16)
    samples = [DataSample().set_gt_label(i % 10) for i in range(8)]
    optim = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for _ in range(8):
        loss = model(x, samples, mode='loss')['loss']
        optim.zero_grad()
        loss.backward()
        optim.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    logits = model(x, mode='tensor')
    assert logits.shape == (8, 10)
    if head['type'] == 'CosineClsHead':
        assert logits.abs().max() <= 30.0 + 1e-4
        assert not hasattr(model.head.fc, 'bias')
