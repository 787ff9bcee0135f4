# Copyright (c) shike-mm contributors. All rights reserved.
import pytest

from shike_mm.datasets import long_tail_counts


def test_reference_totals():
    assert sum(long_tail_counts(500, 100, 100)) == 10847
    assert sum(long_tail_counts(500, 100, 50)) == 12608
    assert sum(long_tail_counts(5000, 10, 100)) == 12406
    assert sum(long_tail_counts(6000, 10, 100)) == 14886


def test_exp_profile_rule():
    counts = long_tail_counts(500, 100, 100)
    assert len(counts) == 100
    assert counts[0] == 500 and counts[-1] == 5
    assert counts == [int(500 * 0.01**(c / 99)) for c in range(100)]
    assert all(a >= b for a, b in zip(counts, counts[1:]))
    assert long_tail_counts(5000, 10, 100) == [
        5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50
    ]


def test_step_profile():
    assert long_tail_counts(500, 10, 10, 'step') == [500] * 5 + [50] * 5
    # odd C: the first C // 2 at n_max, the rest reduced
    assert long_tail_counts(100, 5, 4, 'step') == [100, 100, 25, 25, 25]


def test_edge_cases():
    assert long_tail_counts(7, 1, 100) == [7]
    assert long_tail_counts(10, 4, 1) == [10] * 4
    assert long_tail_counts(10, 3, 100) == [10, 1, 0]


@pytest.mark.parametrize('kwargs, match', [
    (dict(imbalance_factor=0.5), 'imbalance_factor must be a number >= 1'),
    (dict(imbalance_factor=True), 'imbalance_factor must be a number >= 1'),
    (dict(profile='linear'), "unknown long-tail profile 'linear'"),
    (dict(num_classes=0), 'num_classes'),
])
def test_bad_arguments(kwargs, match):
    args = dict(n_max=100, num_classes=10, imbalance_factor=10)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        long_tail_counts(**args)
