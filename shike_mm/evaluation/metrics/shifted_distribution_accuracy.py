# Copyright (c) shike-mm contributors. All rights reserved.
import logging
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmpretrain.registry import METRICS

from ...structures import FEW_SHOT_THR, MANY_SHOT_THR
from .class_counts_metric import ClassCountsMetricMixin
from .long_tail_accuracy import LongTailAccuracy


@METRICS.register_module()
class ShiftedDistributionAccuracy(ClassCountsMetricMixin, BaseMetric):
    """Top-1 and many / medium / few-shot accuracy on test distributions
    that are long-tailed forward, uniform or long-tailed backward.

    The test-agnostic protocol of Zhang et al. ("Self-Supervised
    Aggregation of Diverse Experts for Test-Agnostic Long-Tailed
    Recognition", NeurIPS 2022): the balanced test set is subsampled into
    several test sets whose class distribution is long-tailed like the
    training set (*forward*), balanced (*uniform*) or long-tailed in the
    reversed class order (*backward*), and one set of predictions is scored
    on each. The subsets are index masks over the predictions collected in
    one evaluation pass: the model runs once, whatever the number of
    distributions.

    **Per-class counts** (the paper code's ``get_img_num_per_cls``, ``'exp'``
    profile). Classes are ranked by their number of *training* images,
    most frequent first (ties by class index, so for CIFAR-LT and
    Fashion-MNIST-LT, built head-first, the rank is the class index); ``r``
    is a class's rank and ``C`` the number of classes. With imbalance
    factor ``IF`` class ``c`` keeps::

        forward:   n_c = int(n_max * (1 / IF) ** (r / (C - 1)))
        backward:  n_c = int(n_max * (1 / IF) ** ((C - 1 - r) / (C - 1)))
        uniform:   n_c = n_max

    where ``n_max`` is the number of test images of each class of the
    balanced test set (``num_per_class``; by default the smallest number
    of test images of any class present in the test set), and ``int``
    rounds down. Example: CIFAR-100 (100 test images per class), forward
    50: 100, 96, 92, ..., 2. A class whose ``n_c`` is 0 (only when
    ``n_max < IF``) is absent from that distribution, and from its group
    mean.

    **Which samples.** The samples of each class are ordered by their
    dataset index (``sample_idx`` of the data sample, else the order in
    which the evaluator collected them, which is the dataset order for a
    non-shuffling sampler), then permuted once with
    ``np.random.default_rng(seed)`` (one permutation per class, drawn in
    class order); every distribution keeps the first ``n_c`` samples of
    that permutation. The subsets are therefore deterministic (the same on
    every run, rank count and batch size) and nested: forward 10 is a
    subset of forward 2 class by class. ``seed=None`` keeps the first
    ``n_c`` samples by dataset index instead. The paper draws the samples with
    ``np.random.shuffle`` under seed 0; the counts are the paper's, the exact
    images are not (a different dataset order and generator).

    Reported keys (default prefix ``'shifted'``), all in percent, for every
    distribution ``D`` in ``forward<IF>`` (largest ``IF`` first),
    ``uniform``, ``backward<IF>`` (smallest ``IF`` first), e.g.
    ``shifted/forward50/top1``:

    - ``shifted/<D>/top1``: accuracy over the images of the subset (the
      number the paper reports).
    - ``shifted/<D>/many``, ``/medium``, ``/few``: mean of the per-class
      top-1 accuracies of the classes of the group within the subset, the
      convention and the thresholds of :class:`LongTailAccuracy`.
      Unavailable without training class counts.

    **Training counts.** They decide the class order and the shot groups;
    ``ClassCountsHook`` hands them over with :meth:`set_class_counts`
    (from the checkpoint in ``tools/test.py``). Without counts the class
    index is the rank, the groups are not reported, and a warning says so.

    Args:
        imbalance_factors (Sequence[float]): The ``IF`` of the forward and
            backward distributions. Defaults to (2, 5, 10, 25, 50), the
            paper's.
        uniform (bool): Also report the uniform distribution. Defaults to
            True.
        num_per_class (int, optional): ``n_max``. Defaults to None (the
            smallest number of test images of any class in the test set).
        seed (int, optional): Seed of the per-class permutations. Defaults
            to 0. None: the first ``n_c`` by dataset index.
        many_shot_thr (int): As in :class:`LongTailAccuracy`. Defaults to
            100.
        few_shot_thr (int): As in :class:`LongTailAccuracy`. Defaults to 20.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None, i.e.
            ``'shifted'``.
    """
    default_prefix: Optional[str] = 'shifted'

    def __init__(self,
                 imbalance_factors: Sequence[float] = (2, 5, 10, 25, 50),
                 uniform: bool = True,
                 num_per_class: Optional[int] = None,
                 seed: Optional[int] = 0,
                 many_shot_thr: int = MANY_SHOT_THR,
                 few_shot_thr: int = FEW_SHOT_THR,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        factors = sorted(float(f) for f in imbalance_factors)
        if any(f < 1 for f in factors):
            raise ValueError('ShiftedDistributionAccuracy: imbalance '
                             f'factors must be >= 1, got {imbalance_factors}')
        if num_per_class is not None and num_per_class < 1:
            raise ValueError('ShiftedDistributionAccuracy: num_per_class '
                             f'must be positive, got {num_per_class}')
        self.imbalance_factors = factors
        self.uniform = uniform
        self.num_per_class = num_per_class
        self.seed = seed
        self.many_shot_thr = many_shot_thr
        self.few_shot_thr = few_shot_thr
        self._init_class_counts()

    # ------------------------------------------------------------------
    # the protocol, usable without an instance (tests, analysis tools)
    # ------------------------------------------------------------------
    @staticmethod
    def distributions(imbalance_factors: Sequence[float] = (2, 5, 10, 25,
                                                            50),
                      uniform: bool = True) -> Dict[str, tuple]:
        """Name to ``(imbalance factor, reversed)`` of every distribution,
        in report order: forward (largest factor first), uniform, backward.
        """
        factors = sorted(float(f) for f in imbalance_factors)

        def name(f):
            return f'{f:g}'

        out = {f'forward{name(f)}': (f, False) for f in reversed(factors)}
        if uniform:
            out['uniform'] = (1.0, False)
        out.update({f'backward{name(f)}': (f, True) for f in factors})
        return out

    @staticmethod
    def class_order(class_counts: Optional[Sequence[int]],
                    num_classes: int) -> np.ndarray:
        """Classes from most to least training images (ties by index).

        Returns:
            np.ndarray: (C, ) class ids; ``arange(C)`` without counts.
        """
        if class_counts is None:
            return np.arange(num_classes)
        return np.argsort(-np.asarray(class_counts), kind='stable')

    @staticmethod
    def shifted_class_counts(num_per_class: int, order: Sequence[int],
                             imbalance_factor: float,
                             reverse: bool = False) -> np.ndarray:
        """Test images kept per class, the paper's rule.

        Args:
            num_per_class (int): ``n_max``.
            order (Sequence[int]): (C, ) class ids, most frequent training
                class first (:meth:`class_order`).
            imbalance_factor (float): ``IF`` >= 1; 1 is uniform.
            reverse (bool): Backward (the rarest training class gets
                ``n_max``). Defaults to False.

        Returns:
            np.ndarray: (C, ) int64, ``n_c`` indexed by class id.
        """
        order = np.asarray(order)
        num_classes = order.size
        counts = np.zeros(num_classes, dtype=np.int64)
        for rank, cls in enumerate(order):
            r = num_classes - 1 - rank if reverse else rank
            exponent = r / (num_classes - 1.0) if num_classes > 1 else 0.0
            counts[cls] = int(num_per_class *
                              ((1.0 / imbalance_factor)**exponent))
        return counts

    @staticmethod
    def subsample(labels: np.ndarray,
                  sample_ids: np.ndarray,
                  counts: np.ndarray,
                  seed: Optional[int] = 0) -> np.ndarray:
        """The positions of the samples a distribution keeps.

        Args:
            labels (np.ndarray): (N, ) ground-truth classes.
            sample_ids (np.ndarray): (N, ) dataset indices (the order the
                samples of a class are taken or permuted in).
            counts (np.ndarray): (C, ) ``n_c`` per class; more than a class
                has keeps all of them.
            seed (int, optional): Seed of the per-class permutations; None
                keeps the first ``n_c`` by dataset index.

        Returns:
            np.ndarray: Sorted positions into ``labels``, int64.
        """
        labels = np.asarray(labels)
        by_id = np.argsort(np.asarray(sample_ids), kind='stable')
        rng = None if seed is None else np.random.default_rng(seed)
        keep = []
        for cls in range(len(counts)):
            members = by_id[labels[by_id] == cls]
            if rng is not None:
                members = members[rng.permutation(members.size)]
            keep.append(members[:int(counts[cls])])
        return np.sort(np.concatenate(keep)).astype(np.int64)

    # ------------------------------------------------------------------
    # BaseMetric
    # ------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store label, top-1 prediction and dataset index of every sample.

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs; each has
                ``gt_label`` and ``pred_score`` (C, ) or ``pred_label``.
        """
        for data_sample in data_samples:
            if 'pred_score' in data_sample:
                score = data_sample['pred_score'].reshape(-1)
                pred = int(score.argmax())
                num_classes = score.numel()
            else:
                pred = int(data_sample['pred_label'].reshape(-1)[0])
                num_classes = None
            self.results.append(
                dict(gt_label=int(data_sample['gt_label'].reshape(-1)[0]),
                     pred_label=pred,
                     num_classes=num_classes,
                     sample_idx=data_sample.get('sample_idx', None)))

    def compute_metrics(self, results: List[dict]) -> dict:
        """Score every distribution.

        Args:
            results (list[dict]): What :meth:`process` stored, all ranks.

        Returns:
            dict: ``<distribution>/<top1|many|medium|few>`` to percent.
        """
        labels = np.array([r['gt_label'] for r in results], dtype=np.int64)
        preds = np.array([r['pred_label'] for r in results], dtype=np.int64)
        ids = [r['sample_idx'] for r in results]
        ids = np.arange(len(results)) if any(
            i is None for i in ids) else np.asarray(ids, dtype=np.int64)
        predicted = results[0]['num_classes']
        if self.class_counts is not None:
            num_classes = len(self.class_counts)
            if predicted is not None and predicted != num_classes:
                raise ValueError(
                    f'ShiftedDistributionAccuracy: the model predicts '
                    f'{predicted} classes but {num_classes} training class '
                    'counts were set.')
        elif predicted is not None:
            num_classes = predicted
        else:
            num_classes = int(labels.max()) + 1
        if labels.min() < 0 or labels.max() >= num_classes:
            raise ValueError(
                'ShiftedDistributionAccuracy: ground-truth labels span '
                f'[{labels.min()}, {labels.max()}], outside [0, '
                f'{num_classes}).')
        available = np.bincount(labels, minlength=num_classes)
        n_max = self.num_per_class or int(available[available > 0].min())
        order = self.class_order(self.class_counts, num_classes)
        groups = None
        if self.class_counts is None:
            print_log(
                'ShiftedDistributionAccuracy: no training class counts were '
                'set (is ClassCountsHook in default_hooks?): classes are '
                'ranked by index and many / medium / few are unavailable.',
                logger='current',
                level=logging.WARNING)
        else:
            groups = LongTailAccuracy.shot_groups(self.class_counts,
                                                  self.many_shot_thr,
                                                  self.few_shot_thr)
        correct = (preds == labels).astype(np.float64)
        metrics, sizes = {}, []
        for name, (factor, reverse) in self.distributions(
                self.imbalance_factors, self.uniform).items():
            counts = self.shifted_class_counts(n_max, order, factor, reverse)
            keep = self.subsample(labels, ids, counts, self.seed)
            sizes.append(f'{name} {keep.size}')
            metrics[f'{name}/top1'] = float(correct[keep].mean() * 100.)
            if groups is None:
                continue
            hits = np.bincount(
                labels[keep], weights=correct[keep], minlength=num_classes)
            seen = np.bincount(labels[keep], minlength=num_classes)
            for group, mask in groups.items():
                present = mask & (seen > 0)
                if present.any():
                    metrics[f'{name}/{group}'] = float(
                        (hits[present] / seen[present]).mean() * 100.)
        print_log(
            f'ShiftedDistributionAccuracy: n_max {n_max}, seed {self.seed}, '
            'test images per distribution: ' + ', '.join(sizes),
            logger='current')
        return metrics
