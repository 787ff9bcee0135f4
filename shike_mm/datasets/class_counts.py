# Copyright (c) shike-mm contributors. All rights reserved.
"""One shared way to read per-class image counts off any dataset."""
from typing import List, NamedTuple, Optional

import numpy as np
from mmengine.dataset import (ClassBalancedDataset, ConcatDataset,
                              RepeatDataset)
from torch.utils.data import Subset

from ..structures import ClassCounts


def _num_classes_of(dataset) -> Optional[int]:
    """Length of ``metainfo['classes']`` when the dataset declares it."""
    metainfo = getattr(dataset, 'metainfo', None)
    if isinstance(metainfo, dict) and metainfo.get('classes') is not None:
        return len(metainfo['classes'])
    return None


def get_sample_labels(dataset) -> np.ndarray:
    """The single ground-truth label of every sample, in index order.

    Uses ``dataset.get_gt_labels()`` when the dataset has it (every
    mmpretrain dataset and :class:`LongTailDataset` do), otherwise
    ``dataset.get_cat_ids(i)`` for each index (mmengine's wrappers such as
    ``RepeatDataset`` and ``ConcatDataset``). Labels are read from the
    annotations only; no image is loaded.

    Args:
        dataset: A single-label classification dataset.

    Returns:
        np.ndarray: Labels of shape (N, ), dtype int64, N = ``len(dataset)``.
    """
    if hasattr(dataset, 'get_gt_labels'):
        labels = np.asarray(dataset.get_gt_labels())
    elif hasattr(dataset, 'get_cat_ids'):
        labels = []
        for idx in range(len(dataset)):
            cat_ids = list(dataset.get_cat_ids(idx))
            if len(cat_ids) != 1:
                raise ValueError(
                    f'{type(dataset).__name__}: sample {idx} has labels '
                    f'{cat_ids}; class counts need exactly one label per '
                    'sample (single-label classification).')
            labels.append(int(cat_ids[0]))
        labels = np.asarray(labels)
    else:
        raise TypeError(
            f'{type(dataset).__name__} has neither `class_counts`, '
            '`get_gt_labels()` nor `get_cat_ids(idx)`, so its class counts '
            'cannot be read.')
    if labels.ndim != 1:
        raise ValueError(
            f'{type(dataset).__name__}.get_gt_labels() returned shape '
            f'{labels.shape}; class counts need one label per sample.')
    return labels.astype(np.int64)


class ClassGroups(NamedTuple):
    """Sample indices grouped by class.

    ``order[starts[c]:starts[c] + counts[c]]`` are the indices of class
    ``c`` in dataset order.
    """
    order: np.ndarray
    counts: np.ndarray
    starts: np.ndarray


def group_by_class(labels: np.ndarray,
                   num_classes: Optional[int] = None,
                   owner: str = 'dataset') -> ClassGroups:
    """Group sample indices by label, keeping dataset order in a class.

    Args:
        labels (np.ndarray): One integer label per sample, shape (N, ).
        num_classes (int, optional): Number of classes; defaults to the
            largest label + 1.
        owner (str): Name put in front of error messages.

    Returns:
        ClassGroups: ``order`` (N, ), ``counts`` and ``starts``
        (num_classes, ).

    Raises:
        ValueError: For no sample, a negative label or a label outside
            ``[0, num_classes)``, naming the value.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if labels.size == 0:
        raise ValueError(f'{owner}: the dataset is empty.')
    if labels.min() < 0:
        raise ValueError(f'{owner}: the dataset holds a negative label '
                         f'({int(labels.min())}).')
    if num_classes is None:
        num_classes = int(labels.max()) + 1
    if labels.max() >= num_classes:
        raise ValueError(
            f'{owner}: label {int(labels.max())} is outside '
            f'[0, {num_classes}) (the dataset declares {num_classes} '
            'classes).')
    # A stable sort keeps dataset order inside every class.
    order = np.argsort(labels, kind='stable')
    counts = np.bincount(labels, minlength=num_classes)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    return ClassGroups(order, counts, starts)


def _bincount(labels: np.ndarray, dataset) -> List[int]:
    if labels.size and labels.min() < 0:
        raise ValueError(f'{type(dataset).__name__} holds a negative label '
                         f'({int(labels.min())}).')
    return np.bincount(labels).tolist() if labels.size else []


def _raw_counts(dataset) -> List[int]:
    """Counts of distinct samples per class, wrappers unwrapped."""
    counts = getattr(dataset, 'class_counts', None)
    if counts is not None:
        return [int(c) for c in counts]
    if isinstance(dataset, (RepeatDataset, ClassBalancedDataset)):
        return _raw_counts(dataset.dataset)
    if isinstance(dataset, ConcatDataset):
        parts = [_raw_counts(d) for d in dataset.datasets]
        total = np.zeros(max(len(p) for p in parts), dtype=np.int64)
        for p in parts:
            total[:len(p)] += np.asarray(p, dtype=np.int64)
        return total.tolist()
    if isinstance(dataset, Subset):
        labels = get_sample_labels(dataset.dataset)[np.asarray(
            dataset.indices, dtype=np.int64)]
        return _bincount(labels, dataset.dataset)
    return _bincount(get_sample_labels(dataset), dataset)


def get_class_counts(dataset, num_classes: Optional[int] = None) -> List[int]:
    """Number of training images of every class of ``dataset``.

    This is the one function that counts a dataset's images per class for
    the rest of shike-mm: ``ClassCountsHook`` reads the training dataset
    through it once per run (:func:`read_class_counts` wraps the result in
    a :class:`~shike_mm.structures.ClassCounts`) and hands that value to
    the losses, heads and metrics, so no config ever carries a hand-copied
    count list. Datasets that cache their labels
    (:class:`LongTailListDataset`, :class:`LongTailDataset`) answer without
    a per-sample read.

    Resolution order:

    1. ``dataset.class_counts`` when the dataset exposes it
       (:class:`LongTailDataset`, :class:`LongTailListDataset` and its
       subclasses).
    2. mmengine wrappers are unwrapped: ``RepeatDataset`` and
       ``ClassBalancedDataset`` report the counts of the dataset they wrap
       (distinct images, not repeats), ``ConcatDataset`` the sum over its
       parts; ``torch.utils.data.Subset`` counts its indices.
    3. Otherwise a bincount of ``get_gt_labels()`` (or of ``get_cat_ids``).

    Args:
        dataset: A single-label classification dataset.
        num_classes (int, optional): Length of the returned list. Defaults to
            ``len(dataset.metainfo['classes'])`` when declared, else the
            largest label + 1. Classes without images count 0.

    Returns:
        list[int]: ``num_classes`` non-negative counts, class 0 first.
    """
    counts = _raw_counts(dataset)
    if num_classes is None:
        num_classes = _num_classes_of(dataset)
    if num_classes is None:
        num_classes = len(counts)
    if len(counts) > num_classes and any(counts[num_classes:]):
        bad = next(i for i in range(num_classes, len(counts)) if counts[i])
        raise ValueError(
            f'{type(dataset).__name__} holds label {bad}, outside '
            f'[0, {num_classes}) for num_classes={num_classes}.')
    counts = counts[:num_classes]
    return counts + [0] * (num_classes - len(counts))


def read_class_counts(dataset,
                      num_classes: Optional[int] = None) -> ClassCounts:
    """The training images per class of ``dataset`` as one value.

    The counts are :func:`get_class_counts`'s (the dataset's cached
    ``class_counts`` where it has them); the class names are
    ``metainfo['classes']`` when the dataset declares as many as there are
    counts.

    Args:
        dataset: A single-label classification dataset (or mmengine
            wrapper of one).
        num_classes (int, optional): See :func:`get_class_counts`.

    Returns:
        ClassCounts: The validated counts, with class names where known.
    """
    counts = get_class_counts(dataset, num_classes)
    metainfo = getattr(dataset, 'metainfo', None)
    classes = metainfo.get('classes') if isinstance(metainfo, dict) else None
    if classes is not None and len(classes) != len(counts):
        classes = None
    where = f'{type(dataset).__name__}: class counts'
    value = ClassCounts.of(counts, where=where)
    return value if classes is None else ClassCounts(value.counts,
                                                     tuple(classes))
