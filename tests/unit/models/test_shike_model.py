# Copyright (c) shike-mm contributors. All rights reserved.
"""The full SHIKE classifier built from the base model configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

import shike_mm  # noqa: F401  (registers the modules)
from tests.helpers.commands import REPO_ROOT

CONFIG_DIR = osp.join(
    str(REPO_ROOT), 'configs',
    '_base_', 'models')


def build_model(name='shike_r32_cifar.py', **head_overrides):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    cfg.model.head.update(head_overrides)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def count(model, prefix):
    return sum(p.numel() for n, p in model.named_parameters()
               if n.startswith(prefix))


def test_r32_parameter_counts():
    model = build_model()
    assert count(model, 'backbone.conv1.') + count(model,
                                                   'backbone.bn1.') == 464
    assert count(model, 'backbone.layer1.') == 23360
    assert count(model, 'backbone.layer2.') == 88768
    assert count(model, 'backbone.experts.') == 1060992
    assert count(model, 'backbone.experts.0.') == 353664
    assert count(model, 'backbone.fusion_layers.') == 65024
    assert count(model, 'head.classifiers.') == 19200
    assert count(model, 'head.retrain_classifiers.') == 19200
    assert count(model, '') == 1277008


@pytest.mark.parametrize('name',
                         ['shike_r50.py', 'shike_rx50.py', 'shike_r152.py'])
def test_imagenet_configs_parse(name):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert cfg.model.backbone.type == 'SHIKEResNet'
    assert cfg.model.head.in_channels == 2048
    # written once: the head takes the backbone's
    assert cfg.model.type == 'MultiExpertClassifier'
    assert cfg.model.backbone.num_experts == 3
    assert 'num_experts' not in cfg.model.head


def _batch(num_classes=10, batch=8):
    gen = torch.Generator().manual_seed(0)
    inputs = torch.randn(batch, 3, 32, 32, generator=gen)
    samples = [
        DataSample().set_gt_label(i % num_classes) for i in range(batch)
    ]
    return inputs, samples


def _total(losses):
    return sum(v for k, v in losses.items() if k.startswith('loss'))


def test_stage1_training_step():
    torch.manual_seed(0)
    model = build_model(num_classes=10).train()
    inputs, samples = _batch()
    # Scale-30 cosine logits and train-mode BN on 8 images: small lr.
    optim = torch.optim.SGD(model.parameters(), lr=0.001, momentum=0.9)

    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_ce', 'loss_dkt', 'loss_mutual'}
    first = _total(losses)
    optim.zero_grad()
    first.backward()

    backbone, head = model.backbone, model.head
    groups = [
        backbone.layer1, backbone.layer2, *backbone.experts,
        *backbone.fusion_layers, *head.classifiers
    ]
    for module in groups:
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads)
        assert any(g.abs().sum() > 0 for g in grads)
    assert all(p.grad is None for p in head.retrain_classifiers.parameters())

    optim.step()
    trajectory = [first.item()]
    for _ in range(4):
        loss = _total(model(inputs, samples, mode='loss'))
        trajectory.append(loss.item())
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert trajectory[1] < trajectory[0]
    assert trajectory[-1] < 0.6 * trajectory[0], trajectory


def test_retraining_step():
    torch.manual_seed(0)
    model = build_model(num_classes=10).train()
    model.head.retrain_loss_module.set_class_counts(
        [100, 60, 40, 25, 15, 10, 6, 4, 2, 1])
    model.head.set_mode('retrain')
    # What the stage-boundary hook does: only the retrain classifiers train.
    for name, param in model.named_parameters():
        param.requires_grad = name.startswith('head.retrain_classifiers.')
    inputs, samples = _batch()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.SGD(trainable, lr=0.05, momentum=0.9)

    before = {k: v.clone() for k, v in model.state_dict().items()}
    losses = model(inputs, samples, mode='loss')
    assert set(losses) == {'loss_bsce'}
    first = losses['loss_bsce']
    optim.zero_grad()
    first.backward()
    for name, param in model.named_parameters():
        has_grad = param.grad is not None
        assert has_grad == name.startswith('head.retrain_classifiers.'), name
    optim.step()
    for _ in range(4):
        loss = model(inputs, samples, mode='loss')['loss_bsce']
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < first.item()
    after = model.state_dict()
    for key, value in before.items():
        if key.startswith('head.classifiers.') or (key.startswith('backbone.')
                                                   and 'running' not in key and
                                                   'num_batches' not in key):
            assert torch.equal(after[key], value), key

    # Predictions use the retrain classifiers.
    model.eval()
    with torch.no_grad():
        feats = model.extract_feat(inputs)
        pred = model(inputs, samples, mode='predict')
        expected = model.head.forward_experts(feats, retraining=True)
    torch.testing.assert_close(pred[0].pred_score,
                               expected[:, 0].mean(0).softmax(0))
    stage1 = model.head.forward_experts(feats, retraining=False)
    assert not torch.allclose(expected, stage1)


def test_detached_features_in_retraining():
    """Even without freezing, stage 2 sends no gradient to the backbone."""
    model = build_model(num_classes=10).train()
    model.head.retrain_loss_module.set_class_counts([5] * 10)
    model.head.set_mode('retrain')
    inputs, samples = _batch()
    model(inputs, samples, mode='loss')['loss_bsce'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is None for p in model.head.classifiers.parameters())
    assert all(p.grad is not None
               for p in model.head.retrain_classifiers.parameters())


def test_bf16_autocast_losses():
    model = build_model(num_classes=10).train()
    model.head.retrain_loss_module.set_class_counts(list(range(1, 11)))
    inputs, samples = _batch(batch=4)
    for retraining in (False, True):
        model.head.set_mode('retrain' if retraining else 'experts')
        with torch.autocast('cpu', dtype=torch.bfloat16):
            losses = model(inputs, samples, mode='loss')
        for value in losses.values():
            assert value.dtype == torch.float32
            assert torch.isfinite(value)
        _total(losses).backward()
