# Copyright (c) shike-mm contributors. All rights reserved.
import copy
import logging
from typing import List, Optional, Union

import numpy as np
from mmengine.dataset import BaseDataset, force_full_init
from mmengine.logging import print_log

from mmpretrain.registry import DATASETS
from .class_counts import get_sample_labels, group_by_class
from .index_subset import IndexSubset
from .long_tail_counts import check_long_tail_args, long_tail_counts

SELECTIONS = ('first', 'random')


@DATASETS.register_module()
class LongTailDataset(IndexSubset):
    r"""A wrapper that turns a balanced dataset into its long-tailed version.

    Class :math:`c` (original label index, ``0..C-1``) keeps :math:`n_c`
    images, given by :func:`long_tail_counts`:

    - ``profile='exp'``: ``n_c = int(n_max * r ** (c / (C - 1)))`` with
      ``r = 1 / imbalance_factor``;
    - ``profile='step'``: the first ``C // 2`` classes keep ``n_max``, the
      others ``int(n_max * r)``.

    ``n_max`` is the number of images of the largest class of the wrapped
    (full) dataset. ``max_per_class`` caps ``n_max`` *before* the profile is
    applied: ``n_max = min(n_max, max_per_class)``, so the head class keeps
    ``max_per_class`` images and every other class shrinks with it.

    With ``selection='first'`` (the reference split of the CIFAR-LT
    benchmarks) class :math:`c` keeps its *first* :math:`n_c` images in the
    wrapped dataset's order (file order). With ``selection='random'`` it keeps
    :math:`n_c` images drawn without replacement by
    ``numpy.random.default_rng(seed)``; the global NumPy / torch / Python RNGs
    are never touched. In both cases the kept samples stay in the wrapped
    dataset's order. A class with fewer images than :math:`n_c` keeps all it
    has (a warning names it). A class that would keep 0 images is an error.

    Wrap only the training split; the test split of the long-tail benchmarks
    is the full balanced test set.

    Examples:
        >>> train = dict(
        ...     type='LongTailDataset',
        ...     imbalance_factor=100,
        ...     dataset=dict(type='OfflineCIFAR100', data_root='data/cifar100',
        ...                  split='train', pipeline=[...]))

    Note:
        Like mmengine's ``ClassBalancedDataset``, the wrapper maps indices
        onto the wrapped dataset and does not support ``get_subset``.

    Args:
        dataset (BaseDataset | dict): The dataset, or its config, to make
            long-tailed. It must be single-label and expose
            ``get_gt_labels()`` or ``get_cat_ids(idx)``.
        imbalance_factor (float): Largest / smallest class count, ``>= 1``.
        profile (str): ``'exp'`` or ``'step'``. Defaults to ``'exp'``.
        max_per_class (int, optional): Cap on ``n_max`` applied before the
            profile. Defaults to None (no cap).
        selection (str): ``'first'`` or ``'random'``. Defaults to ``'first'``.
        seed (int): Seed of the ``'random'`` selection. Defaults to 0.
        lazy_init (bool): Whether to defer loading the wrapped dataset and
            choosing the samples until first use. Defaults to False.
    """

    def __init__(self,
                 dataset: Union[BaseDataset, dict],
                 imbalance_factor: float,
                 profile: str = 'exp',
                 max_per_class: Optional[int] = None,
                 selection: str = 'first',
                 seed: int = 0,
                 lazy_init: bool = False):
        check_long_tail_args(imbalance_factor, profile, 'LongTailDataset')
        if selection not in SELECTIONS:
            raise ValueError('LongTailDataset: unknown selection '
                             f'{selection!r}; expected one of {SELECTIONS}')
        if max_per_class is not None and (
                isinstance(max_per_class, bool)
                or int(max_per_class) != max_per_class or max_per_class < 1):
            raise ValueError(
                'LongTailDataset: max_per_class must be a positive integer '
                f'or None, got {max_per_class!r}')

        if isinstance(dataset, dict):
            self.dataset = DATASETS.build(dataset)
        elif hasattr(dataset, '__getitem__') and hasattr(dataset, '__len__'):
            self.dataset = dataset
        else:
            raise TypeError('LongTailDataset: `dataset` must be a dataset '
                            f'config dict or a dataset, got {type(dataset)}')

        self.imbalance_factor = imbalance_factor
        self.profile = profile
        self.max_per_class = max_per_class
        self.selection = selection
        self.seed = seed
        self._metainfo = copy.deepcopy(getattr(self.dataset, 'metainfo', {}))

        self._fully_initialized = False
        if not lazy_init:
            self.full_init()

    def full_init(self) -> None:
        """Load the wrapped dataset and choose the long-tailed samples."""
        if self._fully_initialized:
            return
        if hasattr(self.dataset, 'full_init'):
            self.dataset.full_init()
        labels = get_sample_labels(self.dataset)
        classes = self.CLASSES
        order, available, starts = group_by_class(
            labels, len(classes) if classes is not None else None,
            f'LongTailDataset (wrapping {type(self.dataset).__name__})')
        num_classes = len(available)

        n_max = int(available.max())
        if self.max_per_class is not None:
            n_max = min(n_max, int(self.max_per_class))
        targets = long_tail_counts(n_max, num_classes, self.imbalance_factor,
                                   self.profile)

        members = [
            order[starts[c]:starts[c] + available[c]]
            for c in range(num_classes)
        ]
        counts = [min(t, len(m)) for t, m in zip(targets, members)]
        empty = [c for c, n_c in enumerate(counts) if n_c == 0]
        if empty:
            c = empty[0]
            also = f' (also classes {empty[1:]})' if len(empty) > 1 else ''
            raise ValueError(
                f'LongTailDataset: class {c} would keep 0 images{also}: '
                f'n_max={n_max}, imbalance_factor={self.imbalance_factor}, '
                f'profile={self.profile!r} asks for {targets[c]} and '
                f'{available[c]} are available. Lower imbalance_factor '
                '(the tail class keeps int(n_max / imbalance_factor)).')
        short = [c for c, (t, m) in enumerate(zip(targets, members))
                 if len(m) < t]

        rng = np.random.default_rng(self.seed)
        kept = []
        for c, n_c in enumerate(counts):
            if self.selection == 'first':
                kept.append(members[c][:n_c])
            else:
                kept.append(rng.choice(members[c], size=n_c, replace=False))
        if short:
            print_log(
                f'LongTailDataset: classes {short} have fewer images than '
                'the long-tail profile asks for; they keep all they have.',
                logger='current',
                level=logging.WARNING)

        self._indices = np.sort(np.concatenate(kept)).astype(np.int64)
        self._labels = labels[self._indices]
        self._class_counts = [int(n) for n in counts]
        self._fully_initialized = True

    @property
    @force_full_init
    def class_counts(self) -> List[int]:
        """list[int]: Images kept per class, length C, class 0 first."""
        return list(self._class_counts)

    def __repr__(self) -> str:
        head = 'Dataset ' + self.__class__.__name__
        body = [
            f'Imbalance factor: \t{self.imbalance_factor}',
            f'Profile: \t{self.profile}',
            f'Max per class: \t{self.max_per_class}',
            f'Selection: \t{self.selection}'
            + (f' (seed {self.seed})' if self.selection == 'random' else ''),
        ]
        if self._fully_initialized:
            body.append(f'Number of samples: \t{len(self)}')
            body.append(f'Largest / smallest class: \t'
                        f'{max(self._class_counts)} / '
                        f'{min(self._class_counts)}')
        else:
            body.append("Haven't been initialized")
        body.append(f'Wrapped dataset: {type(self.dataset).__name__}')
        lines = [head] + [' ' * 4 + line for line in body]
        return '\n'.join(lines)
