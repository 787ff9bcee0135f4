# Copyright (c) shike-mm contributors. All rights reserved.
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from shike_mm.models import CosineClassifier
from tests.helpers.head_inputs import (BATCH, DIM, NUM_CLASSES, _feats,
                                        _head, _samples)


def test_cosine_classifier():
    torch.manual_seed(0)
    cls = CosineClassifier(DIM, NUM_CLASSES, scale=30.0)
    assert cls.weight.shape == (NUM_CLASSES, DIM)
    torch.testing.assert_close(cls.weight.norm(dim=1), torch.ones(NUM_CLASSES))
    x = torch.randn(3, DIM)
    expected = 30 * F.normalize(x, dim=1) @ F.normalize(cls.weight, dim=1).T
    torch.testing.assert_close(cls(x), expected)
    assert cls(x).abs().max() <= 30 + 1e-4
    assert not hasattr(cls, 'bias')


def test_forward_and_predict():
    head = _head(keep_expert_logits=True).eval()
    feats = _feats()
    expert_logits = head.forward_experts(feats)
    assert expert_logits.shape == (3, BATCH, NUM_CLASSES)
    mean = head(feats)
    torch.testing.assert_close(mean, expert_logits.mean(0))
    samples = head.predict(feats, _samples())
    for i, sample in enumerate(samples):
        torch.testing.assert_close(sample.pred_score, F.softmax(mean[i], 0))
        assert sample.pred_label.item() == mean[i].argmax().item()
        torch.testing.assert_close(sample.expert_logits, expert_logits[:, i])
        assert sample.gt_label.item() == i % NUM_CLASSES
    # Without data samples new ones are created.
    assert len(head.predict(feats)) == BATCH
    # By default the per-expert logits are not kept (tools/test.py --out).
    plain = _head().eval()
    plain.load_state_dict(head.state_dict())
    for sample, kept in zip(plain.predict(feats), samples):
        assert 'expert_logits' not in sample
        torch.testing.assert_close(sample.pred_score, kept.pred_score)
    with pytest.raises(ValueError, match='tuple of 3 expert features'):
        head(feats[:2])


def test_stage1_losses():
    head = _head()
    losses = head.loss(_feats(), _samples())
    assert set(losses) == {'loss_ce', 'loss_dkt', 'loss_mutual'}
    logits = head.forward_experts(_feats())
    target = torch.tensor([i % NUM_CLASSES for i in range(BATCH)])
    ce = sum(F.cross_entropy(z, target) for z in logits)
    torch.testing.assert_close(losses['loss_ce'], ce)
    # Optional terms can be switched off; accuracy on request.
    head = _head(dkt_loss=None, mutual_loss=None, cal_acc=True)
    assert set(head.loss(_feats(),
                         _samples())) == {'loss_ce', 'accuracy_top-1'}


def test_retraining_mode_and_checkpoint():
    head = _head(retrain_loss=dict(type='BalancedSoftmaxLoss'))
    head.retrain_loss_module.set_class_counts([5, 4, 3, 2, 1])
    feats = _feats()
    stage1 = head(feats)
    assert head.retraining is False
    head.set_mode('retrain')
    assert head.retraining is True
    losses = head.loss(feats, _samples())
    assert set(losses) == {'loss_bsce'}
    retrain_logits = head.forward_experts(feats)
    torch.testing.assert_close(retrain_logits,
                               head.forward_experts(feats, retraining=True))
    assert not torch.allclose(head(feats), stage1)

    # The mode and both classifier sets live in the checkpoint.
    state = head.state_dict()
    assert state['retraining_flag'].dtype == torch.bool
    assert any(k.startswith('retrain_classifiers.') for k in state)
    assert any(k.startswith('classifiers.') for k in state)
    fresh = _head()
    assert fresh.retraining is False
    fresh.load_state_dict(state)
    assert fresh.retraining is True
    torch.testing.assert_close(fresh(feats), head(feats))
    fresh.set_mode('experts')
    torch.testing.assert_close(fresh(feats), stage1)


def test_loss_keys_name_the_configured_losses():
    head = _head(
        loss=dict(type='FocalLoss'),
        retrain_loss=dict(type='CrossEntropyLoss'),
        dkt_loss=None)
    assert set(head.loss(_feats(), _samples())) == {'loss_focal',
                                                    'loss_mutual'}
    head.set_mode('retrain')
    losses = head.loss(_feats(), _samples())
    assert set(losses) == {'loss_ce'}
    logits = head.forward_experts(_feats())
    target = torch.tensor([i % NUM_CLASSES for i in range(BATCH)])
    torch.testing.assert_close(
        losses['loss_ce'], sum(F.cross_entropy(z, target) for z in logits))
    with pytest.raises(ValueError, match="one of \\('experts', 'retrain'\\)"):
        head.set_mode('router')


def test_dkt_fill_value_follows_the_classifier():
    from shike_mm.models.losses import dkt_loss
    feats, target = _feats(), torch.tensor(
        [i % NUM_CLASSES for i in range(BATCH)])
    # Cosine classifier of scale 20: the student's target logit is -20.
    head = _head(classifier=dict(type='CosineClassifier', scale=20.0))
    assert head.dkt_loss_module.resolved_student_target_value == -20.0
    logits = head.forward_experts(feats)
    torch.testing.assert_close(
        head.loss(feats, _samples())['loss_dkt'],
        10 * dkt_loss(logits, target, student_target_value=-20.0))
    assert not torch.allclose(
        dkt_loss(logits, target, student_target_value=-20.0),
        dkt_loss(logits, target, student_target_value=-30.0))
    # Unbounded linear classifier: each expert's smallest logit per sample.
    head = _head(classifier=dict(type='Linear'))
    assert head.dkt_loss_module.resolved_student_target_value is None
    logits = head.forward_experts(feats).detach().double()
    filled = logits.clone()
    for m in range(3):
        for b in range(BATCH):
            filled[m, b, target[b]] = logits[m, b].min()
    log_t = F.log_softmax(
        __import__('shike_mm').models.losses.dkt_teacher_logits(
            logits, target), -1)
    expected = sum((log_t.exp() * (log_t - F.log_softmax(filled[m], -1))
                    ).sum() for m in range(3)) / (BATCH * NUM_CLASSES)
    torch.testing.assert_close(
        head.dkt_loss_module(logits, target), 10 * expected)


def test_linear_classifier_option():
    head = _head(classifier=dict(type='Linear'))
    assert all(isinstance(c, nn.Linear) for c in head.classifiers)
    assert all(isinstance(c, nn.Linear) for c in head.retrain_classifiers)
    weight = head.classifiers[0].weight
    assert weight.std().item() == pytest.approx((2 / DIM)**0.5, rel=0.5)
    assert set(head.loss(
        _feats(), _samples())) == {'loss_ce', 'loss_dkt', 'loss_mutual'}


def test_soft_labels_rejected():
    head = _head()
    samples = [s.set_gt_score(torch.rand(NUM_CLASSES)) for s in _samples()]
    with pytest.raises(NotImplementedError, match='gt_score'):
        head.loss(_feats(), samples)
