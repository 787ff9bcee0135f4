# Copyright (c) shike-mm contributors. All rights reserved.
"""ShiftedDistributionAccuracy against hand-computed counts and accuracies,
and the one-inference-pass guarantee (forward calls counted)."""
import math

import numpy as np
import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmpretrain.structures import DataSample
from shike_mm.evaluation import (CalibrationError, LongTailAccuracy,
                                 ShiftedDistributionAccuracy)

SDA = ShiftedDistributionAccuracy
# 5 classes, training counts head-first: 0, 1 many; 2, 3 medium; 4 few.
COUNTS = [500, 150, 60, 30, 10]
PER_CLASS = 10


def test_counts_by_hand():
    order = np.arange(5)
    # n_max = 10, IF = 10, C = 5: int(10 * 0.1 ** (r / 4))
    #   r = 0: 10, r = 1: 5.62 -> 5, r = 2: 3.16 -> 3, r = 3: 1.78 -> 1,
    #   r = 4: 1
    assert SDA.shifted_class_counts(10, order, 10).tolist() == [
        10, 5, 3, 1, 1
    ]
    assert SDA.shifted_class_counts(10, order, 10, reverse=True).tolist(
    ) == [1, 1, 3, 5, 10]
    # IF = 2: 10, 8.41 -> 8, 7.07 -> 7, 5.95 -> 5, 5
    assert SDA.shifted_class_counts(10, order, 2).tolist() == [
        10, 8, 7, 5, 5
    ]
    assert SDA.shifted_class_counts(10, order, 1).tolist() == [10] * 5
    # CIFAR-100: 100 per class, forward 50 ends at 2, starts 100, 96
    cifar = SDA.shifted_class_counts(100, np.arange(100), 50)
    assert cifar[[0, 1, 2, 99]].tolist() == [100, 96, 92, 2]
    # the rank follows the training counts, not the class index
    order = SDA.class_order([5, 50, 20, 100, 1], 5)
    assert order.tolist() == [3, 1, 2, 0, 4]
    assert SDA.shifted_class_counts(10, order, 10).tolist() == [
        1, 5, 3, 10, 1
    ]
    # ties keep the class index order
    assert SDA.class_order([7, 9, 7, 9], 4).tolist() == [1, 3, 0, 2]


def test_distribution_names_and_order():
    names = list(SDA.distributions())
    assert names == [
        'forward50', 'forward25', 'forward10', 'forward5', 'forward2',
        'uniform', 'backward2', 'backward5', 'backward10', 'backward25',
        'backward50'
    ]
    assert SDA.distributions((2.5, ), uniform=False) == {
        'forward2.5': (2.5, False),
        'backward2.5': (2.5, True)
    }


def test_subsample_is_deterministic_nested_and_order_free():
    rng = np.random.default_rng(3)
    labels = np.repeat(np.arange(5), PER_CLASS)
    ids = np.arange(labels.size)
    counts10 = SDA.shifted_class_counts(PER_CLASS, np.arange(5), 10)
    counts2 = SDA.shifted_class_counts(PER_CLASS, np.arange(5), 2)
    # seed None: the first n_c of each class by dataset index
    keep = SDA.subsample(labels, ids, counts10, seed=None)
    assert keep.tolist() == list(range(0, 10)) + [10, 11, 12, 13, 14] + [
        20, 21, 22
    ] + [30] + [40]
    # the collected order does not matter, the dataset index does
    perm = rng.permutation(labels.size)
    for seed in (None, 0, 7):
        ref = set(ids[SDA.subsample(labels, ids, counts10, seed)])
        got = set(ids[perm][SDA.subsample(labels[perm], ids[perm], counts10,
                                          seed)])
        assert got == ref
        assert np.bincount(labels[list(ref)]).tolist() == counts10.tolist()
        # nested: forward 10 within forward 2
        wider = set(ids[SDA.subsample(labels, ids, counts2, seed)])
        assert ref <= wider
    # the same seed gives the same subset; another seed another one
    a = SDA.subsample(labels, ids, counts10, 0)
    assert a.tolist() == SDA.subsample(labels, ids, counts10, 0).tolist()
    assert a.tolist() != SDA.subsample(labels, ids, counts10, 1).tolist()


def _samples(seed=0):
    """5 classes x 10 test images; in class c the images with the 10 - 2c
    smallest dataset indices are right, the others wrong. Returned in a
    shuffled order, each with its ``sample_idx``."""
    out = []
    for c in range(5):
        for j in range(PER_CLASS):
            score = torch.full((5, ), 0.1)
            pred = c if j < PER_CLASS - 2 * c else (c + 1) % 5
            score[pred] = 0.6
            sample = DataSample(metainfo=dict(sample_idx=c * PER_CLASS + j))
            out.append(
                sample.set_gt_label(c).set_pred_score(score).to_dict())
    order = np.random.default_rng(seed).permutation(len(out))
    return [out[i] for i in order]


def test_accuracies_by_hand():
    metric = SDA(imbalance_factors=(10, ), seed=None)
    metric.set_class_counts(COUNTS)
    samples = _samples()
    metric.process(None, samples[:17])
    metric.process(None, samples[17:])
    res = metric.evaluate(len(samples))
    assert list(res) == [
        'shifted/forward10/top1', 'shifted/forward10/many',
        'shifted/forward10/medium', 'shifted/forward10/few',
        'shifted/uniform/top1', 'shifted/uniform/many',
        'shifted/uniform/medium', 'shifted/uniform/few',
        'shifted/backward10/top1', 'shifted/backward10/many',
        'shifted/backward10/medium', 'shifted/backward10/few'
    ]
    # right per class: 10, 8, 6, 4, 2 of 10
    # forward 10 keeps 10, 5, 3, 1, 1 (first by index): all right
    assert res['shifted/forward10/top1'] == pytest.approx(100.)
    assert res['shifted/forward10/few'] == pytest.approx(100.)
    # uniform: 30 / 50; many (100 + 80) / 2, medium (60 + 40) / 2, few 20
    assert res['shifted/uniform/top1'] == pytest.approx(60.)
    assert res['shifted/uniform/many'] == pytest.approx(90.)
    assert res['shifted/uniform/medium'] == pytest.approx(50.)
    assert res['shifted/uniform/few'] == pytest.approx(20.)
    # backward 10 keeps 1, 1, 3, 5, 10: right 1, 1, 3, 4, 2 -> 11 / 20
    assert res['shifted/backward10/top1'] == pytest.approx(55.)
    assert res['shifted/backward10/many'] == pytest.approx(100.)
    assert res['shifted/backward10/medium'] == pytest.approx(90.)
    assert res['shifted/backward10/few'] == pytest.approx(20.)


def test_without_counts_and_with_num_per_class():
    metric = SDA(imbalance_factors=(10, ), uniform=False, num_per_class=5,
                 seed=None)
    metric.process(None, _samples())
    res = metric.evaluate(50)
    assert set(res) == {'shifted/forward10/top1', 'shifted/backward10/top1'}
    # n_max 5, IF 10: int(5 * 0.1 ** (r / 4)) = 5, 2, 1, 0, 0 -> the
    # classes 3 and 4 are absent; all 8 kept images right
    assert res['shifted/forward10/top1'] == pytest.approx(100.)
    # backward: 0, 0, 1, 2, 5: class 2 1/1, class 3 2/2, class 4 2/5
    assert res['shifted/backward10/top1'] == pytest.approx(500. / 8)


def test_errors():
    with pytest.raises(ValueError, match='>= 1'):
        SDA(imbalance_factors=(0.5, ))
    metric = SDA()
    metric.set_class_counts([1, 2, 3])
    metric.process(None, _samples())
    with pytest.raises(ValueError, match='predicts 5 classes'):
        metric.evaluate(50)
    with pytest.raises(ValueError, match='non-negative'):
        SDA().set_class_counts([1, -2])


# ----------------------------------------------------------------------
# one inference pass for every distribution
# ----------------------------------------------------------------------
class _CountingModel(BaseModel):
    """Returns the stored scores of each sample as its prediction and
    counts its forward calls and the images it saw."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.calls = 0
        self.images = 0

    def forward(self, inputs, data_samples=None, mode='tensor'):
        self.calls += 1
        self.images += len(inputs)
        for x, ds in zip(inputs, data_samples):
            ds.set_pred_score(x)
        return data_samples


class _ScoresDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=tuple('abcde'))

    def __init__(self):
        self.items = sorted(_samples(), key=lambda s: s['sample_idx'])

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        item = self.items[idx]
        return dict(
            inputs=item['pred_score'],
            data_samples=DataSample(
                metainfo=dict(sample_idx=idx)).set_gt_label(
                    item['gt_label']))


def test_one_forward_pass_covers_every_distribution(tmp_path):
    model = _CountingModel()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        test_dataloader=dict(
            dataset=_ScoresDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=8,
            num_workers=0),
        test_cfg=dict(),
        test_evaluator=[
            dict(type='LongTailAccuracy', topk=1),
            dict(type='ShiftedDistributionAccuracy'),
            dict(type='CalibrationError'),
        ],
        default_scope='mmpretrain',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        experiment_name='shifted_one_pass')
    for metric in runner.test_loop.evaluator.metrics:
        metric.set_class_counts(COUNTS)
    metrics = runner.test()
    # 50 images, batch 8: 7 forward calls, every image once
    assert model.calls == math.ceil(50 / 8)
    assert model.images == 50
    names = list(SDA.distributions())
    assert len(names) == 11
    for name in names:
        assert f'shifted/{name}/top1' in metrics
    # with 10 images per class, forward 50 keeps int(10 / 50) = 0 of the
    # few-shot class 4, so its few-shot accuracy is left out
    assert 'shifted/forward50/few' not in metrics
    assert 'shifted/backward50/few' in metrics
    # uniform over the balanced set is the balanced top-1
    assert metrics['shifted/uniform/top1'] == pytest.approx(
        metrics['accuracy/top1'])
    assert metrics['shifted/uniform/many'] == pytest.approx(
        metrics['accuracy/many'])
    for key in ('ece', 'nll', 'ece_many', 'ece_medium', 'ece_few'):
        assert f'calibration/{key}' in metrics
    assert isinstance(runner.test_loop.evaluator.metrics[0], LongTailAccuracy)
    assert isinstance(runner.test_loop.evaluator.metrics[2],
                      CalibrationError)
