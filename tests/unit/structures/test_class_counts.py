# Copyright (c) shike-mm contributors. All rights reserved.
"""ClassCounts: one validated value, each derived quantity defined once."""
import dataclasses
import math

import numpy as np
import pytest
import torch

from shike_mm.structures import (FEW_SHOT_THR, MANY_SHOT_THR, ClassCounts,
                                 shot_groups)


def test_values_and_derived_quantities():
    counts = ClassCounts.of([150, 100, 50, 20, 19, 0])
    assert counts.counts == (150, 100, 50, 20, 19, 0)
    assert (counts.num_classes, counts.total) == (6, 339)
    assert counts.tolist() == [150, 100, 50, 20, 19, 0]
    assert counts.tensor().dtype == torch.int64
    # log max(n, 1) and its normalised form, written out independently
    clamped = [150, 100, 50, 20, 19, 1]
    assert counts.log_counts.tolist() == [math.log(n) for n in clamped]
    expected = [math.log(n / sum(clamped)) for n in clamped]
    torch.testing.assert_close(counts.log_prior,
                               torch.tensor(expected, dtype=torch.float64),
                               rtol=0, atol=1e-15)
    assert (MANY_SHOT_THR, FEW_SHOT_THR) == (100, 20)
    groups = counts.shot_groups()
    assert list(groups) == ['many', 'medium', 'few']
    assert groups['many'].tolist() == [1, 0, 0, 0, 0, 0]
    assert groups['medium'].tolist() == [0, 1, 1, 1, 0, 0]
    assert groups['few'].tolist() == [0, 0, 0, 0, 1, 1]
    narrow = shot_groups([150, 100, 50], many_shot_thr=60, few_shot_thr=60)
    assert [g.tolist() for g in narrow.values()] == [[1, 1, 0], [0, 0, 0],
                                                     [0, 0, 1]]


def test_immutable_and_equal_across_sources():
    counts = ClassCounts.of(np.array([3, 2, 1]))
    assert counts == ClassCounts.of(torch.tensor([3., 2., 1.]))
    assert ClassCounts.of(counts) is counts
    with pytest.raises(dataclasses.FrozenInstanceError):
        counts.counts = (1, 1, 1)
    log_prior = counts.log_prior
    log_prior[0] = 0.  # a new tensor each time: the value is unchanged
    assert counts.log_prior[0] != 0.
    named = ClassCounts((3, 2), classes=('cat', 'dog'))
    assert named.classes == ('cat', 'dog')
    with pytest.raises(ValueError, match='2 names for 3 counts'):
        ClassCounts((3, 2, 1), classes=('cat', 'dog'))


@pytest.mark.parametrize('value, message', [
    (7, 'x: c must be a list of per-class image counts, got a int'),
    ([], 'x: c is empty'),
    ([0, 0], 'x: c is all zeros'),
    ([3, -1], r'x: c\[1\] is -1; every entry must be a non-negative whole'),
    ([3, 2.5], r'x: c\[1\] is 2.5'),
    ([3, True], r'x: c\[1\] is True'),
    (['3', 1], r"x: c\[0\] is '3'"),
    (torch.tensor([1., float('nan')]), r'x: c\[1\] is nan'),
    ([[1, 2]], r'x: c must be one count per class, got shape \(1, 2\)'),
])
def test_errors_name_the_value(value, message):
    with pytest.raises(ValueError, match=message):
        ClassCounts.of(value, where='x: c')


def test_length_checked_against_the_expected_classes():
    with pytest.raises(ValueError, match='x: c has 2 entries but the model '
                       'predicts 3 classes'):
        ClassCounts.of([2, 1], 3, 'x: c')
    with pytest.raises(ValueError, match='has 2 entries but the head has 3'):
        ClassCounts.of(ClassCounts((2, 1)), 3, expected='the head has')
