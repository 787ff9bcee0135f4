# Copyright (c) shike-mm contributors. All rights reserved.
"""The per-class image counts of a long-tailed split."""
import numbers
from typing import List

PROFILES = ('exp', 'step')


def check_long_tail_args(imbalance_factor, profile: str,
                         owner: str = 'long_tail_counts') -> None:
    """Validate the imbalance factor and profile of a long-tailed split.

    Args:
        imbalance_factor: Must be a real number >= 1 (not a bool).
        profile (str): One of :data:`PROFILES`.
        owner (str): Name put in front of the error message.

    Raises:
        ValueError: Naming the argument and its value.
    """
    if (not isinstance(imbalance_factor, numbers.Real)
            or isinstance(imbalance_factor, bool)
            or not imbalance_factor >= 1):
        raise ValueError(
            f'{owner}: imbalance_factor must be a number >= 1 (largest / '
            f'smallest class), got {imbalance_factor!r}')
    if profile not in PROFILES:
        raise ValueError(f'{owner}: unknown long-tail profile {profile!r}; '
                         f'expected one of {PROFILES}')


def long_tail_counts(n_max: int,
                     num_classes: int,
                     imbalance_factor: float,
                     profile: str = 'exp') -> List[int]:
    r"""Number of images each class keeps in a long-tailed split.

    With :math:`r = 1 / \text{imbalance\_factor}` and :math:`C` classes:

    - ``'exp'``: class :math:`c` keeps
      :math:`n_c = \lfloor n_{max} \cdot r^{c / (C - 1)} \rfloor`
      (``int(n_max * r ** (c / (C - 1)))``, the rule of the CIFAR-LT
      benchmarks, Cao et al. 2019). Class 0 keeps ``n_max``, class ``C - 1``
      keeps ``int(n_max * r)``.
    - ``'step'``: the first ``C // 2`` classes keep ``n_max``, the remaining
      ``C - C // 2`` classes keep ``int(n_max * r)``.

    A single class (``C == 1``) keeps ``n_max`` under both profiles.

    Examples:
        >>> sum(long_tail_counts(500, 100, 100))   # CIFAR-100-LT, IF 100
        10847
        >>> sum(long_tail_counts(500, 100, 50))    # CIFAR-100-LT, IF 50
        12608
        >>> sum(long_tail_counts(5000, 10, 100))   # CIFAR-10-LT, IF 100
        12406

    Args:
        n_max (int): Images of the largest (head) class.
        num_classes (int): Number of classes :math:`C`.
        imbalance_factor (float): Ratio between the largest and the smallest
            class, ``>= 1``. ``1`` gives a balanced split.
        profile (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.

    Returns:
        list[int]: ``C`` counts, class 0 first. Counts may be 0 when
        ``imbalance_factor > n_max``; callers that need every class present
        must check.
    """
    if isinstance(n_max, bool) or int(n_max) != n_max or n_max < 0:
        raise ValueError(
            f'n_max must be a non-negative integer, got {n_max!r}')
    if (isinstance(num_classes, bool) or int(num_classes) != num_classes
            or num_classes < 1):
        raise ValueError(
            f'num_classes must be a positive integer, got {num_classes!r}')
    check_long_tail_args(imbalance_factor, profile)
    n_max, num_classes = int(n_max), int(num_classes)
    r = 1. / imbalance_factor
    if num_classes == 1:
        return [n_max]
    if profile == 'exp':
        return [
            int(n_max * r**(c / (num_classes - 1)))
            for c in range(num_classes)
        ]
    head = num_classes // 2
    return [n_max] * head + [int(n_max * r)] * (num_classes - head)
