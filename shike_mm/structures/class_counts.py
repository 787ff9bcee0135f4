# Copyright (c) shike-mm contributors. All rights reserved.
"""The training images per class, as one validated immutable value."""
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple, Union

import numpy as np
import torch

#: Many-shot classes have more than this many training images (the
#: convention of Liu et al., "Large-Scale Long-Tailed Recognition in an
#: Open World", CVPR 2019, github.com/zhmiao/OpenLongTailRecognition-OLTR).
MANY_SHOT_THR = 100
#: Few-shot classes have fewer than this many training images.
FEW_SHOT_THR = 20


def shot_groups(counts: Sequence[int],
                many_shot_thr: int = MANY_SHOT_THR,
                few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, np.ndarray]:
    """Which classes are many-, medium- and few-shot.

    Args:
        counts (Sequence[int]): Training images of every class, class 0
            first.
        many_shot_thr (int): Many-shot means more than this many training
            images. Defaults to :data:`MANY_SHOT_THR` (100).
        few_shot_thr (int): Few-shot means fewer than this many. Defaults
            to :data:`FEW_SHOT_THR` (20).

    Returns:
        dict[str, np.ndarray]: ``many``, ``medium``, ``few`` (in this
        order), each a bool mask of shape (C, ); every class is in exactly
        one group.
    """
    counts = np.asarray(counts)
    return dict(
        many=counts > many_shot_thr,
        medium=(counts >= few_shot_thr) & (counts <= many_shot_thr),
        few=counts < few_shot_thr)


CountsLike = Union['ClassCounts', Sequence[int], np.ndarray, torch.Tensor]


def _bad_entry(values: list, where: str) -> ValueError:
    """The error for the first entry that is not a non-negative whole
    number."""
    for i, value in enumerate(values):
        if isinstance(value, np.generic):
            value = value.item()
        if (isinstance(value, (bool, np.bool_))
                or not isinstance(value, (int, float)) or value != value
                or value in (float('inf'), float('-inf'))
                or value != int(value) or value < 0):
            return ValueError(
                f'{where}[{i}] is {value!r:.60}; every entry must be a '
                'non-negative whole number of training images')
    return ValueError(f'{where} holds an entry that is not a non-negative '
                      'whole number of training images')


def _validated(value, where: str, num_classes: Optional[int],
               expected: str) -> Tuple[int, ...]:
    """Every check of a count vector, in one place (see
    :meth:`ClassCounts.of`)."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        array = value
    elif isinstance(value, (list, tuple)):
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            raise _bad_entry(list(value), where) from None
    else:
        raise ValueError(
            f'{where} must be a list of per-class image counts, got a '
            f'{type(value).__name__} ({value!r:.60})')
    if array.ndim != 1:
        raise ValueError(f'{where} must be one count per class, got shape '
                         f'{tuple(array.shape)}')
    if array.dtype.kind == 'b' or (isinstance(value, (list, tuple)) and any(
            isinstance(v, (bool, np.bool_)) for v in value)):
        raise _bad_entry(list(value) if isinstance(value, (list, tuple))
                         else array.tolist(), where)
    if array.size and array.dtype.kind not in 'iuf':
        raise _bad_entry(array.tolist(), where)
    if array.size and array.dtype.kind == 'f':
        ok = np.isfinite(array)
        ok[ok] = array[ok] == np.floor(array[ok])
        if not ok.all() or (array < 0).any():
            raise _bad_entry(array.tolist(), where)
    elif array.size and (array < 0).any():
        raise _bad_entry(array.tolist(), where)
    counts = tuple(array.astype(np.int64).tolist())
    if num_classes is not None and len(counts) != num_classes:
        raise ValueError(
            f'{where} has {len(counts)} entries but {expected} '
            f'{num_classes} classes: the counts belong to another class '
            'list')
    if not counts:
        raise ValueError(f'{where} is empty: there must be one count per '
                         'class')
    if not any(counts):
        raise ValueError(
            f'{where} is all zeros ({len(counts)} entries): no class has a '
            'training image, so the many / medium / few groups and the '
            'class priors would be meaningless')
    return counts


@dataclass(frozen=True)
class ClassCounts:
    """The training images of every class of a dataset, read once.

    Many parts of a long-tail method read these numbers: losses
    (balanced softmax, logit adjustment, LDAM, RIDE), post-hoc adjusted
    heads, the many / medium / few split of metrics and analysis tools,
    the class-aware sampler. They all receive this one value, validated
    here, and derive what they need from its properties (one formula per
    derived quantity).

    Args:
        counts (Sequence[int]): C non-negative whole numbers, class 0
            first, not all zero.
        classes (Sequence[str], optional): The C class names, where the
            dataset declares them.

    Examples:
        >>> counts = ClassCounts((150, 50, 10))
        >>> counts.num_classes, counts.total
        (3, 210)
        >>> [name for name, mask in counts.shot_groups().items()
        ...  if mask[2]]
        ['few']
    """

    counts: Tuple[int, ...]
    classes: Optional[Tuple[str, ...]] = None

    def __post_init__(self) -> None:
        object.__setattr__(
            self, 'counts',
            _validated(self.counts, 'ClassCounts.counts', None, ''))
        if self.classes is not None:
            classes = tuple(str(c) for c in self.classes)
            if len(classes) != len(self.counts):
                raise ValueError(
                    f'ClassCounts.classes has {len(classes)} names for '
                    f'{len(self.counts)} counts')
            object.__setattr__(self, 'classes', classes)

    @classmethod
    def of(cls,
           value: CountsLike,
           num_classes: Optional[int] = None,
           where: str = 'class counts',
           expected: str = 'the model predicts') -> 'ClassCounts':
        """Validate ``value`` and wrap it (a :class:`ClassCounts` passes
        through after the length check).

        Args:
            value: A :class:`ClassCounts`, a list / tuple of numbers, or a
                1-D array or tensor.
            num_classes (int, optional): The required number of classes.
            where (str): Names the value in errors, e.g.
                ``'ckpt.pth: meta.class_counts'``.
            expected (str): Says who requires ``num_classes`` in the
                length error.

        Returns:
            ClassCounts: The validated value.

        Raises:
            ValueError: For a value that is not a sequence, an entry that
                is not a non-negative whole number (naming its index and
                value), the wrong length, no entry or all zeros, each
                message starting with ``where``.
        """
        if isinstance(value, ClassCounts):
            if num_classes is not None and value.num_classes != num_classes:
                raise ValueError(
                    f'{where} has {value.num_classes} entries but '
                    f'{expected} {num_classes} classes: the counts belong '
                    'to another class list')
            return value
        return cls(_validated(value, where, num_classes, expected))

    # ------------------------------------------------------------------
    # plain views
    # ------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """int: The number of classes C."""
        return len(self.counts)

    @property
    def total(self) -> int:
        """int: The number of training images."""
        return sum(self.counts)

    def tolist(self) -> list:
        """list[int]: The counts as a new list (what checkpoints store)."""
        return list(self.counts)

    def tensor(self, dtype: torch.dtype = torch.int64) -> torch.Tensor:
        """A new tensor of the counts, shape (C, ).

        Args:
            dtype (torch.dtype): Defaults to int64.
        """
        return torch.tensor(self.counts, dtype=dtype)

    def __len__(self) -> int:
        return len(self.counts)

    def __iter__(self):
        return iter(self.counts)

    def __getitem__(self, index):
        return self.counts[index]

    # ------------------------------------------------------------------
    # derived quantities: each formula once
    # ------------------------------------------------------------------
    @property
    def log_counts(self) -> torch.Tensor:
        """Tensor: ``log max(n_c, 1)``, shape (C, ), float64 (the offset of
        balanced softmax and logit adjustment; a constant shift of the
        log prior, which the softmax ignores)."""
        return self.tensor(torch.float64).clamp(min=1).log()

    @property
    def log_prior(self) -> torch.Tensor:
        """Tensor: ``log(n_c / sum_j n_j)`` with counts clamped to >= 1,
        shape (C, ), float64 (post-hoc logit adjustment, Menon et al.,
        ICLR 2021)."""
        counts = self.tensor(torch.float64).clamp(min=1)
        return (counts / counts.sum()).log()

    def shot_groups(self,
                    many_shot_thr: int = MANY_SHOT_THR,
                    few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, np.ndarray]:
        """The many / medium / few masks, see :func:`shot_groups`."""
        return shot_groups(self.counts, many_shot_thr, few_shot_thr)

    def __repr__(self) -> str:
        return (f'ClassCounts({self.num_classes} classes, {self.total} '
                f'images, max {max(self.counts)}, min {min(self.counts)})')
