# Copyright (c) shike-mm contributors. All rights reserved.
"""The extension points of ``MultiExpertFusionHead``: fusion rules,
``expert_logits`` and mode components."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.registry import MODELS
from mmpretrain.structures import DataSample

from shike_mm.models import (ExpertHeadMode, MeanFusion,
                             MultiExpertFusionHead)
from shike_mm.protocols import (ExpertLogitsHead, FusionRule, HeadMode,
                                PredictedLogitsHead, StagedHead)

NUM_CLASSES, DIM, BATCH, M = 5, 8, 4, 3


def _feats(batch=BATCH):
    gen = torch.Generator().manual_seed(3)
    return tuple(torch.randn(batch, DIM, generator=gen) for _ in range(M))


def _samples():
    return [DataSample().set_gt_label(i % NUM_CLASSES) for i in range(BATCH)]


def _head(**kwargs):
    torch.manual_seed(0)
    head = MultiExpertFusionHead(
        num_classes=NUM_CLASSES, in_channels=DIM, num_experts=M, **kwargs)
    head.init_weights()
    return head


class _FirstExpert(FusionRule, nn.Module):
    """A fusion rule with a parameter: ``scale * z_0``."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, expert_logits):
        return self.scale * expert_logits[0]


def test_protocols():
    head = _head()
    assert isinstance(head, ExpertLogitsHead)
    assert isinstance(head, PredictedLogitsHead)
    assert isinstance(head, StagedHead)
    assert isinstance(head.fusion, MeanFusion)
    assert isinstance(head.fusion, FusionRule)
    assert all(isinstance(m, HeadMode) for m in head.modes.values())
    assert list(head.modes) == ['experts', 'retrain']


def test_mean_fusion_is_the_mean_bit_for_bit():
    head = _head().eval()
    feats = _feats()
    z = head.expert_logits(feats)
    assert z.shape == (M, BATCH, NUM_CLASSES)
    assert torch.equal(head(feats), z.mean(dim=0))
    assert torch.equal(head.predicted_logits(feats), z.mean(dim=0))
    scores = torch.stack([s.pred_score for s in head.predict(feats)])
    assert torch.equal(scores, F.softmax(z.mean(dim=0), dim=1))
    # no parameters, no state-dict keys
    assert not any(k.startswith('fusion.') for k in head.state_dict())


def test_expert_logits_follow_the_classifier_set_in_use():
    head = _head().eval()
    feats = _feats()
    stage1 = torch.stack([c(f) for c, f in zip(head.classifiers, feats)])
    assert torch.equal(head.expert_logits(feats), stage1)
    head.set_mode('retrain')
    stage2 = torch.stack(
        [c(f) for c, f in zip(head.retrain_classifiers, feats)])
    assert torch.equal(head.expert_logits(feats), stage2)
    assert head.expert_classifiers is head.retrain_classifiers


def test_fusion_rule_with_parameters():
    MODELS.register_module(name='_FirstExpertFusion', module=_FirstExpert,
                           force=True)
    head = _head(fusion=dict(type='_FirstExpertFusion'), cal_acc=True)
    feats = _feats()
    z = head.expert_logits(feats)
    assert torch.equal(head(feats), 2.0 * z[0])
    assert 'fusion.scale' in head.state_dict()
    samples = head.predict(feats)
    expected = F.softmax(2.0 * z[0].detach(), dim=1)
    torch.testing.assert_close(
        torch.stack([s.pred_score for s in samples]), expected,
        rtol=0, atol=0)
    # the training accuracy is that of the fused logits
    losses = head.loss(feats, _samples())
    target = torch.arange(BATCH) % NUM_CLASSES
    acc = (2.0 * z[0]).argmax(1).eq(target).float().mean() * 100
    got = torch.as_tensor(losses['accuracy_top-1']).reshape(())
    torch.testing.assert_close(got, acc)


class _Finetune(ExpertHeadMode):
    """A mode of a new method: the stage-1 classifiers with CE only."""

    name = 'finetune'
    flag = 'finetune_flag'
    classifiers = 'classifiers'

    def __init__(self):
        super().__init__(detach_feats=True)
        self.ce = MODELS.build(dict(type='CrossEntropyLoss'))

    def loss_modules(self, head):
        return [self.ce]


def test_extra_mode_component():
    head = _head(extra_modes=[_Finetune()])
    assert head.available_modes == ('experts', 'retrain', 'finetune')
    assert 'finetune_flag' in head.state_dict()
    feats = _feats()
    head.set_mode('finetune')
    assert head.mode == 'finetune' and not head.retraining
    losses = head.loss(feats, _samples())
    assert list(losses) == ['loss_ce']
    z = torch.stack([c(f) for c, f in zip(head.classifiers, feats)])
    target = torch.arange(BATCH) % NUM_CLASSES
    expected = sum(F.cross_entropy(z[m], target) for m in range(M))
    torch.testing.assert_close(losses['loss_ce'], expected)
    # the features were detached: no gradient reaches them
    feats = tuple(f.requires_grad_() for f in _feats())
    head.loss(feats, _samples())['loss_ce'].backward()
    assert all(f.grad is None for f in feats)
    head.set_mode('experts')
    assert head.mode == 'experts'
    assert not head.state_dict()['finetune_flag']


def test_extra_mode_errors_name_the_problem():
    with pytest.raises(ValueError, match="'experts'"):
        _head(extra_modes=[type('Dup', (_Finetune, ), dict(
            name='experts'))()])
    with pytest.raises(ValueError, match='other_classifiers'):
        _head(extra_modes=[type('Bad', (_Finetune, ), dict(
            classifiers='other_classifiers'))()])


def test_router_is_an_add_on_mode_and_old_keys_load():
    router = dict(type='ExpertRouter', hidden_channels=4, top_k=3)
    head = _head(router=router)
    assert head.available_modes == ('experts', 'retrain', 'router')
    head.set_mode('retrain')
    head.set_mode('router')
    assert head.mode == 'router' and head.retraining and head.routing
    assert head.expert_classifiers is head.retrain_classifiers
    state = head.state_dict()
    assert state['retraining_flag'] and state['routing_flag']
    fresh = _head(router=router)
    fresh.load_state_dict(state)
    assert fresh.mode == 'router' and fresh.retraining
    head.set_mode('experts')
    assert not head.retraining and not head.routing


def _model_cfg(**head):
    return dict(
        type='MultiExpertClassifier',
        backbone=dict(type='SHIKEResNet', depth=20, num_experts=2),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='MultiExpertFusionHead', num_classes=NUM_CLASSES,
                  in_channels=64, **head))


def test_num_experts_is_written_once_in_the_backbone():
    model = MODELS.build(_model_cfg())
    assert model.head.num_experts == model.backbone.num_experts == 2
    assert len(model.head.classifiers) == 2
    # the same value twice is accepted
    MODELS.build(_model_cfg(num_experts=2))
    # a different one fails at build time, naming both fields
    with pytest.raises(ValueError, match=r'model.head.num_experts=3 but '
                       r'model.backbone.num_experts=2'):
        MODELS.build(_model_cfg(num_experts=3))


def test_multi_expert_classifier_builds_as_image_classifier():
    """Same parts in the same order: same weights from the same seed."""
    torch.manual_seed(0)
    ours = MODELS.build(_model_cfg())
    torch.manual_seed(0)
    plain = MODELS.build(dict(_model_cfg(num_experts=2),
                              type='ImageClassifier'))
    state, expected = ours.state_dict(), plain.state_dict()
    assert list(state) == list(expected)
    assert all(torch.equal(state[k], expected[k]) for k in state)
