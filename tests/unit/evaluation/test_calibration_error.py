# Copyright (c) shike-mm contributors. All rights reserved.
"""CalibrationError (ECE, 15 bins, and NLL) against hand-computed values."""
import math

import numpy as np
import pytest
import torch

from mmpretrain.structures import DataSample
from shike_mm.evaluation import CalibrationError

# (label, probabilities of the classes 0 and 1)
SAMPLES = [
    (0, [0.90, 0.10]),  # conf 0.90 right, bin (0.8667, 0.9333]
    (1, [0.90, 0.10]),  # conf 0.90 wrong, same bin
    (0, [0.65, 0.35]),  # conf 0.65 right, bin (0.6, 0.6667]
    (1, [0.30, 0.70]),  # conf 0.70 right, bin (0.6667, 0.7333]
]


def _data_samples():
    return [
        DataSample().set_gt_label(y).set_pred_score(torch.tensor(p))
        .to_dict() for y, p in SAMPLES
    ]


def test_bins_by_hand():
    conf = np.array([0.9, 0.9, 0.65, 0.7, 1.0, 0.0, 1 / 15 + 1e-9])
    correct = np.array([1, 0, 1, 1, 1, 0, 1], dtype=bool)
    bins = CalibrationError.reliability_bins(conf, correct, 15)
    assert bins['edges'].size == 16
    count = [0] * 15
    count[13] = 2  # 0.9
    count[9] = 1  # 0.65
    count[10] = 1  # 0.7
    count[14] = 1  # 1.0: the last bin is closed above
    count[0] = 1  # 0.0: in the first bin
    count[1] = 1  # just above 1/15
    assert bins['count'].tolist() == count
    assert bins['accuracy'][13] == pytest.approx(0.5)
    assert bins['confidence'][13] == pytest.approx(0.9)
    assert np.isnan(bins['accuracy'][5])


def test_ece_and_nll_by_hand():
    metric = CalibrationError()
    metric.set_class_counts([500, 5])  # class 0 many-shot, class 1 few
    metric.process(None, _data_samples()[:3])
    metric.process(None, _data_samples()[3:])
    res = metric.evaluate(4)
    # bin 0.9: 2 images, accuracy 0.5, confidence 0.9: 2/4 * 0.4 = 0.2
    # bin 0.65: 1 image, accuracy 1: 1/4 * 0.35 = 0.0875
    # bin 0.7: 1 image, accuracy 1: 1/4 * 0.3 = 0.075
    assert res['calibration/ece'] == pytest.approx(36.25)
    nll = -(math.log(0.9) + math.log(0.1) + math.log(0.65) +
            math.log(0.7)) / 4
    assert res['calibration/nll'] == pytest.approx(nll, rel=1e-6)
    # many (true class 0): 0.9 right, 0.65 right -> (0.1 + 0.35) / 2
    assert res['calibration/ece_many'] == pytest.approx(22.5)
    # few (true class 1): 0.9 wrong, 0.7 right -> (0.9 + 0.3) / 2
    assert res['calibration/ece_few'] == pytest.approx(60.)
    assert res['calibration/nll_few'] == pytest.approx(
        -(math.log(0.1) + math.log(0.7)) / 2, rel=1e-6)
    assert 'calibration/ece_medium' not in res  # no medium-shot class


def test_perfectly_calibrated_set_has_zero_ece():
    # 10 images at confidence 0.8, 8 of them right
    conf = np.full(10, 0.8)
    correct = np.arange(10) < 8
    assert CalibrationError.expected_calibration_error(
        conf, correct) == pytest.approx(0.)


def test_nll_clamps_zero_probability():
    assert CalibrationError.negative_log_likelihood(
        np.array([0.0])) == pytest.approx(-math.log(1e-12))


def test_without_counts_and_errors():
    metric = CalibrationError()
    metric.process(None, _data_samples())
    assert set(metric.evaluate(4)) == {'calibration/ece', 'calibration/nll'}
    metric = CalibrationError()
    metric.set_class_counts([1, 2, 3])
    metric.process(None, _data_samples())
    with pytest.raises(ValueError, match='predicts 2 classes'):
        metric.evaluate(4)
    with pytest.raises(KeyError, match='pred_score'):
        CalibrationError().process(
            None, [DataSample().set_gt_label(0).set_pred_label(0).to_dict()])
    with pytest.raises(ValueError, match='num_bins'):
        CalibrationError(num_bins=0)
