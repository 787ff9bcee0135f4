# Copyright (c) shike-mm contributors. All rights reserved.
import glob
import json
import math
import os.path as osp
from unittest import mock

import pytest
import torch
from mmengine.model import BaseModel
from mmengine.runner import Runner

from mmpretrain.registry import METRICS
from mmpretrain.structures import DataSample
from shike_mm.evaluation import LongTailAccuracy

# Training counts: classes 0, 1 many-shot (> 100), 2, 3 medium (20-100),
# 4, 5 few-shot (< 20).
COUNTS = [500, 150, 60, 30, 10, 5]

# (ground truth, classes ranked from best to worst score)
SAMPLES = [
    (0, [0, 1, 2, 3, 4, 5]),  # top1 hit
    (0, [0, 2, 1, 3, 4, 5]),  # top1 hit
    (0, [0, 1, 2, 3, 5, 4]),  # top1 hit
    (0, [1, 2, 3, 4, 5, 0]),  # miss, not in top 5
    (1, [1, 0, 2, 3, 4, 5]),  # top1 hit
    (1, [2, 1, 0, 3, 4, 5]),  # miss, in top 5
    (2, [0, 2, 1, 3, 4, 5]),  # miss, in top 5
    (2, [0, 1, 3, 4, 5, 2]),  # miss, not in top 5
    (3, [3, 0, 1, 2, 4, 5]),  # top1 hit
    (4, [4, 0, 1, 2, 3, 5]),  # top1 hit
    (4, [1, 0, 2, 3, 5, 4]),  # miss, not in top 5
    (4, [0, 4, 1, 2, 3, 5]),  # miss, in top 5
    (5, [0, 5, 1, 2, 3, 4]),  # miss, in top 5
]


def _data_samples(samples=SAMPLES):
    out = []
    for gt, ranking in samples:
        score = torch.zeros(6)
        for pos, c in enumerate(ranking):
            score[c] = 6. - pos
        out.append(
            DataSample().set_gt_label(gt).set_pred_score(
                torch.softmax(score, 0)).to_dict())
    return out


def _evaluate(metric, samples=SAMPLES):
    metric.process(None, _data_samples(samples)[:5])
    metric.process(None, _data_samples(samples)[5:])
    return metric.evaluate(len(samples))


def test_hand_computed_values():
    metric = LongTailAccuracy()
    metric.set_class_counts(COUNTS)
    res = _evaluate(metric)
    # hand-computed:
    # top1 = 6 hits / 13 = 46.153846...; top5 = 10 / 13 = 76.923077...
    # per class top1: 3/4, 1/2, 0/2, 1/1, 1/3, 0/1
    #   = 75, 50, 0, 100, 33.333..., 0
    # many = (75 + 50) / 2 = 62.5  (pooled would be 4/6 = 66.67)
    # medium = (0 + 100) / 2 = 50.0  (pooled would be 1/3)
    # few = (33.333... + 0) / 2 = 16.666...
    assert res['accuracy/top1'] == pytest.approx(46.1538461538, abs=1e-4)
    assert res['accuracy/top5'] == pytest.approx(76.9230769231, abs=1e-4)
    assert res['accuracy/many'] == pytest.approx(62.5)
    assert res['accuracy/medium'] == pytest.approx(50.0)
    assert res['accuracy/few'] == pytest.approx(16.6666666667, abs=1e-4)
    assert res['accuracy/per_class'] == pytest.approx(
        [75.0, 50.0, 0.0, 100.0, 33.3333333333, 0.0], abs=1e-4)
    assert all(type(v) is float for v in res['accuracy/per_class'])


def test_thresholds_are_configurable():
    metric = LongTailAccuracy(many_shot_thr=50, few_shot_thr=10)
    metric.set_class_counts(COUNTS)
    res = _evaluate(metric)
    # many = classes 0, 1, 2 (> 50): (75 + 50 + 0) / 3 = 41.666...
    # medium = classes 3, 4 (10..50): (100 + 33.333...) / 2 = 66.666...
    # few = class 5 (< 10): 0
    assert res['accuracy/many'] == pytest.approx(41.6666666667, abs=1e-4)
    assert res['accuracy/medium'] == pytest.approx(66.6666666667, abs=1e-4)
    assert res['accuracy/few'] == pytest.approx(0.0)


def test_without_counts_warns_once_and_reports_topk():
    metric = METRICS.build(dict(type='LongTailAccuracy', per_class=False))
    path = 'shike_mm.evaluation.metrics.long_tail_accuracy.print_log'
    with mock.patch(path) as log:
        res = _evaluate(metric)
        _evaluate(metric)
    assert log.call_count == 1
    assert 'unavailable' in log.call_args[0][0]
    assert set(res) == {'accuracy/top1', 'accuracy/top5'}


def test_empty_group_and_class_without_test_images():
    metric = LongTailAccuracy()
    metric.set_class_counts([500, 500, 50, 50, 50, 50])  # no few-shot class
    res = _evaluate(metric, [s for s in SAMPLES if s[0] != 3])
    assert 'accuracy/few' not in res
    assert math.isnan(res['accuracy/per_class'][3])
    # medium = classes 2, 4, 5 with test images (class 3 has none):
    # (0 + 33.333... + 0) / 3
    assert res['accuracy/medium'] == pytest.approx(11.1111111111, abs=1e-4)


def test_errors():
    metric = LongTailAccuracy(topk=(1, 10))
    with pytest.raises(ValueError, match='top-10 accuracy is unavailable'):
        _evaluate(metric)
    metric = LongTailAccuracy()
    metric.set_class_counts([1, 2, 3])
    with pytest.raises(ValueError, match='6 classes but 3'):
        _evaluate(metric)
    with pytest.raises(ValueError, match='non-negative'):
        LongTailAccuracy().set_class_counts([3, -1])


class _PredictModel(BaseModel):
    """Returns the stored scores of each sample as its prediction."""

    def __init__(self):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='tensor'):
        for x, ds in zip(inputs, data_samples):
            ds.set_pred_score(x)
        return data_samples


class _ScoresDataset(torch.utils.data.Dataset):
    metainfo = dict(classes=tuple('abcdef'))

    def __init__(self):
        self.items = _data_samples()

    def __len__(self):
        return len(self.items)

    def __getitem__(self, idx):
        item = self.items[idx]
        return dict(
            inputs=item['pred_score'],
            data_samples=DataSample().set_gt_label(item['gt_label']))


def test_list_value_does_not_break_mmengine_logging(tmp_path):
    runner = Runner(
        model=_PredictModel(),
        work_dir=str(tmp_path),
        val_dataloader=dict(
            dataset=_ScoresDataset(),
            sampler=dict(type='DefaultSampler', shuffle=False),
            batch_size=4,
            num_workers=0),
        val_cfg=dict(),
        val_evaluator=dict(type='LongTailAccuracy'),
        default_scope='mmpretrain',
        default_hooks=dict(logger=dict(type='LoggerHook', interval=1)),
        experiment_name='lt_metric')
    runner.val_loop.evaluator.metrics[0].set_class_counts(COUNTS)
    metrics = runner.val()
    assert metrics['accuracy/many'] == pytest.approx(62.5)
    assert len(metrics['accuracy/per_class']) == 6
    # the list is kept as non-scalar info, printed in the text log, and
    # left out of the scalar (JSON) backend
    log_file = glob.glob(osp.join(str(tmp_path), '*', '*.log'))[0]
    with open(log_file) as f:
        assert 'accuracy/per_class' in f.read()
    json_file = glob.glob(osp.join(str(tmp_path), '*', 'vis_data',
                                   'scalars.json'))[0]
    with open(json_file) as f:
        record = json.loads(f.readline())
    assert record['accuracy/top1'] == pytest.approx(46.1538461538, abs=1e-4)
    assert 'accuracy/per_class' not in record
