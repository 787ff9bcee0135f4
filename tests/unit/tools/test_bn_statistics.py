# Copyright (c) shike-mm contributors. All rights reserved.
"""shike_mm.analysis.bn_statistics: the per-group fit of BatchNorm running
statistics and their re-estimation, against sums written out here with
numpy on a two-layer model whose inputs are known."""
import numpy as np
import pytest
import torch
from torch import nn

from shike_mm.analysis.bn_statistics import (BNGroupStatistics, accuracy_rows,
                                             batch_norm_layers, fit_rows,
                                             group_accuracy,
                                             reestimate_bn_statistics)
from shike_mm.analysis.lt_analysis import collect_logits
from shike_mm.structures import shot_groups


class _Sample:

    def __init__(self, label):
        self.gt_label = torch.tensor([label])


class TinyClassifier(nn.Module):
    """The parts of an mmpretrain ImageClassifier the analysis calls: a
    1x1 conv + BatchNorm2d backbone, a BatchNorm1d + linear head."""

    def __init__(self, num_classes=4):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 1)
        self.bn = nn.BatchNorm2d(3)
        self.head = nn.Sequential(nn.BatchNorm1d(3),
                                  nn.Linear(3, num_classes))

    @staticmethod
    def data_preprocessor(data, training):
        return data

    def extract_feat(self, x):
        return self.bn(self.conv(x)).mean((2, 3))


def batches(seed=0, sizes=(6, 5, 7), num_classes=4):
    """mmpretrain-like batches of 2-channel 3x4 images; class c's images
    are shifted by c so that the groups differ."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for n in sizes:
        labels = torch.randint(0, num_classes, (n, ), generator=g)
        x = torch.randn(n, 2, 3, 4, generator=g) + labels.view(-1, 1, 1, 1)
        out.append(dict(inputs=x,
                        data_samples=[_Sample(int(y)) for y in labels]))
    return out


def trained_model():
    torch.manual_seed(0)
    model = TinyClassifier()
    with torch.no_grad():  # running statistics away from their init
        model.bn.running_mean.copy_(torch.tensor([0.5, -1., 2.]))
        model.bn.running_var.copy_(torch.tensor([2., 0.5, 4.]))
    return model.eval()


def test_fit_matches_numpy_per_group():
    model = trained_model()
    data = batches()
    stats = BNGroupStatistics(model)
    _, logits, labels = collect_logits(model, data,
                                       before_batch=stats.set_labels)
    stats.remove()
    counts = [500, 50, 10, 5]  # many, medium, few, few
    in_group = shot_groups(counts)
    fit = stats.fit(in_group)

    # the BatchNorm2d's input, by hand: conv output of every image
    with torch.no_grad():
        x = torch.cat([model.conv(b['inputs']) for b in data]).double()
    x = x.numpy()  # (N, 3, 3, 4)
    pooled = torch.cat([model.extract_feat(b['inputs']) for b in data])
    pooled = pooled.detach().double().numpy()  # BatchNorm1d's input
    for g, classes in (('many', [0]), ('medium', [1]), ('few', [2, 3])):
        sel = np.isin(labels, classes)
        assert fit[g]['images'] == sel.sum()
        shifts, ratios = [], []
        for layer, values in ((model.bn, x[sel]), (model.head[0],
                                                   pooled[sel])):
            m = layer.running_mean.double().numpy()
            v = layer.running_var.double().numpy() + layer.eps
            axes = (0, 2, 3) if values.ndim == 4 else (0, )
            mu = values.mean(axis=axes)
            var = values.var(axis=axes)
            shifts.append(np.mean(np.abs(mu - m) / np.sqrt(v)))
            ratios.append(np.mean(var / v))
        assert fit[g]['mean_shift'] == pytest.approx(np.mean(shifts),
                                                     rel=1e-9)
        assert fit[g]['var_ratio'] == pytest.approx(np.mean(ratios),
                                                    rel=1e-9)
    # hooks removed: another pass adds nothing
    before = stats.images.clone()
    collect_logits(model, data)
    assert torch.equal(stats.images, before)


def test_fit_empty_group_and_label_range():
    model = trained_model()
    stats = BNGroupStatistics(model)
    data = batches(sizes=(8, ))
    collect_logits(model, data, before_batch=stats.set_labels)
    seen = set(int(s.gt_label) for s in data[0]['data_samples'])
    counts = [500 if c in seen else 1 for c in range(4)] + [5]  # class 4
    fit = stats.fit(shot_groups(counts))
    assert fit['medium']['images'] == 0
    assert np.isnan(fit['medium']['mean_shift'])
    assert np.isnan(fit['medium']['var_ratio'])
    assert fit['many']['images'] + fit['few']['images'] == 8
    with pytest.raises(ValueError, match='labels up to 3 .* 2 classes'):
        stats.fit(shot_groups([500, 5]))
    with pytest.raises(ValueError, match='negative label -1'):
        stats.set_labels(torch.tensor([0, -1]))


def test_batch_without_labels_is_refused():
    model = trained_model()
    stats = BNGroupStatistics(model)
    with pytest.raises(RuntimeError, match='BN layer bn got a batch of 6'):
        collect_logits(model, batches())
    stats.remove()
    with pytest.raises(ValueError, match='Linear has no BatchNorm'):
        batch_norm_layers(nn.Linear(2, 2))


def test_reestimate_is_the_average_of_batch_statistics():
    model = trained_model()
    model.bn.momentum = 0.3
    data = batches(sizes=(6, 5, 7, 4))
    weights = {k: v.clone() for k, v in model.state_dict().items()
               if 'running' not in k and 'num_batches' not in k}
    assert reestimate_bn_statistics(model, data) == 4
    assert not model.training
    assert model.bn.momentum == 0.3 and model.head[0].momentum == 0.1
    for k, v in weights.items():
        assert torch.equal(model.state_dict()[k], v), k
    with torch.no_grad():
        conv = [model.conv(b['inputs']).double().numpy() for b in data]
    means = [c.mean(axis=(0, 2, 3)) for c in conv]
    # BatchNorm keeps the unbiased variance of each batch
    variances = [c.transpose(1, 0, 2, 3).reshape(3, -1).var(axis=1, ddof=1)
                 for c in conv]
    np.testing.assert_allclose(model.bn.running_mean.numpy(),
                               np.mean(means, axis=0), rtol=1e-5)
    np.testing.assert_allclose(model.bn.running_var.numpy(),
                               np.mean(variances, axis=0), rtol=1e-5)
    with pytest.raises(ValueError, match='dataloader .* is empty'):
        reestimate_bn_statistics(model, [])
    assert model.bn.momentum == 0.3


def test_group_accuracy_and_rows():
    logits = np.array([[2., 0.], [0., 1.], [3., 1.], [0., 2.], [1., 0.]])
    labels = np.array([0, 0, 0, 1, 1])
    in_group = shot_groups([500, 5])
    acc = group_accuracy(logits, labels, in_group)
    assert acc['top1'] == pytest.approx(60.)
    assert acc['many'] == pytest.approx(200 / 3)
    assert acc['few'] == pytest.approx(50.)
    assert np.isnan(acc['medium'])
    fit = {g: dict(images=1, mean_shift=0.1234, var_ratio=2.)
           for g in ('many', 'medium', 'few')}
    results = [dict(name='epoch_5.pth', epoch=5, stored=acc, fit=fit,
                    reestimated=None)]
    header, rows = accuracy_rows(results)
    assert header[:3] == ['checkpoint', 'epoch', 'top1 stored']
    assert rows[0][:3] == ['epoch_5.pth', '5', '60.00']
    assert rows[0][6:] == ['n/a'] * 4
    header, rows = fit_rows(results)
    assert header[2:5] == ['shift many', 'shift medium', 'shift few']
    assert rows[0][2] == '0.123' and rows[0][5] == '2.000'
