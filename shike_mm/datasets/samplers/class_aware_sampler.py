# Copyright (c) shike-mm contributors. All rights reserved.
import logging
import math
from typing import Iterator, Optional, Sized

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from mmpretrain.registry import DATA_SAMPLERS
from ..class_counts import get_sample_labels, group_by_class


@DATA_SAMPLERS.register_module()
class ClassAwareSampler(Sampler):
    """Class-aware (class-balanced) sampler for long-tailed training.

    Every step draws a class uniformly at random, then one image of that
    class uniformly at random (both with replacement), so each class is
    seen equally often whatever its size. Classes without images are
    skipped: the class is drawn among the non-empty classes only.

    Distributed training follows mmengine's ``DefaultSampler``: the global
    sequence of one epoch, ``ceil(num_samples / world_size) * world_size``
    indices long, is built from ``seed + epoch`` on every rank alike, and
    rank ``r`` takes positions ``r, r + world_size, ...`` of it. The ranks'
    shares are disjoint and together cover the epoch's sequence exactly
    once. The sequence depends only on ``seed`` and the epoch set by
    :meth:`set_epoch`, so resuming at epoch ``e`` replays epoch ``e``. Only a
    private ``numpy.random.Generator`` is used; global RNGs are untouched.

    Args:
        dataset (Sized): Single-label dataset with ``get_gt_labels()`` or
            ``get_cat_ids(idx)``.
        num_samples (int, optional): Length of one epoch over all ranks.
            Defaults to None, ``len(dataset)``.
        seed (int, optional): Seed shared by all ranks. Defaults to None,
            drawn once and broadcast with mmengine's ``sync_random_seed``.
    """

    def __init__(self,
                 dataset: Sized,
                 num_samples: Optional[int] = None,
                 seed: Optional[int] = None) -> None:
        rank, world_size = get_dist_info()
        self.rank = rank
        self.world_size = world_size
        self.dataset = dataset
        if seed is None:
            seed = sync_random_seed()
        self.seed = seed
        self.epoch = 0

        metainfo = getattr(dataset, 'metainfo', None) or {}
        declared = len(metainfo.get('classes') or ()) or None
        order, counts, starts = group_by_class(
            get_sample_labels(dataset), declared, 'ClassAwareSampler')
        num_classes = len(counts)
        num_empty = num_classes - int(np.count_nonzero(counts))
        if num_empty > 0:
            print_log(
                f'ClassAwareSampler: {num_empty} of {num_classes} classes '
                'have no images and are never drawn.',
                logger='current',
                level=logging.WARNING)
        self._sorted_indices = order
        self._classes = np.flatnonzero(counts)
        self._class_sizes = counts[self._classes]
        self._class_starts = starts[self._classes]

        if num_samples is None:
            num_samples = len(dataset)
        if int(num_samples) != num_samples or num_samples < 1:
            raise ValueError('ClassAwareSampler: num_samples must be a '
                             f'positive integer, got {num_samples!r}')
        self.num_samples_total = int(num_samples)
        self.num_samples = math.ceil(self.num_samples_total / world_size)
        self.total_size = self.num_samples * world_size

    @property
    def num_classes_drawn(self) -> int:
        """int: Number of (non-empty) classes the sampler draws from."""
        return len(self._classes)

    def epoch_indices(self) -> np.ndarray:
        """The global index sequence of the current epoch, all ranks.

        Returns:
            np.ndarray: Dataset indices of shape (total_size, ).
        """
        rng = np.random.default_rng([self.seed % 2**64, self.epoch])
        picks = rng.integers(len(self._classes), size=self.total_size)
        offsets = rng.integers(self._class_sizes[picks])
        return self._sorted_indices[self._class_starts[picks] + offsets]

    def __iter__(self) -> Iterator[int]:
        """Iterate this rank's share of the epoch."""
        indices = self.epoch_indices()[self.rank:self.total_size:self.
                                       world_size]
        return iter(indices.tolist())

    def __len__(self) -> int:
        """The number of samples in this rank."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Set the epoch; the epoch's sequence is drawn from
        ``(seed, epoch)``.

        Args:
            epoch (int): Epoch number.
        """
        self.epoch = epoch
