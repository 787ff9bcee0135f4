# Copyright (c) shike-mm contributors. All rights reserved.
import logging
import math
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmpretrain.registry import METRICS

from ...protocols import ExpertCostsConsumer
from ...structures import FEW_SHOT_THR, MANY_SHOT_THR, shot_groups
from .class_counts_metric import ClassCountsMetricMixin


@METRICS.register_module()
class LongTailAccuracy(ClassCountsMetricMixin, ExpertCostsConsumer,
                       BaseMetric):
    """Top-k accuracy plus many / medium / few-shot accuracy.

    Reported keys (with the default prefix ``'accuracy'``), all in percent:

    - ``accuracy/top1``, ``accuracy/top5`` (one per ``topk``): accuracy over
      all test images, named like mmpretrain's ``Accuracy`` so that
      ``save_best='accuracy/top1'`` works unchanged.
    - ``accuracy/many``, ``accuracy/medium``, ``accuracy/few``: the *mean of
      the per-class top-1 accuracies* of the classes in each shot group (the
      convention of the long-tail literature, e.g. Liu et al. 2019), not the
      accuracy over the group's pooled images. A class is *many-shot* when
      it has more than ``many_shot_thr`` training images, *few-shot* when it
      has fewer than ``few_shot_thr``, *medium-shot* otherwise (defaults:
      many > 100, medium 20-100, few < 20). Classes without test images are
      left out of the mean; a group without any class with test images is
      not reported.
    - ``accuracy/experts_used`` and ``accuracy/relative_flops``, when the
      predictions carry ``num_experts`` (routed multi-expert inference):
      the mean number of experts a test image used, and the mean cost of
      routed inference relative to running every expert (needs the costs
      handed over by ``RoutingCostHook`` through :meth:`set_expert_costs`,
      the :class:`~shike_mm.protocols.ExpertCostsConsumer` protocol).
    - ``accuracy/per_class`` (``per_class=True``): list of the top-1
      accuracy of every class (NaN for a class without test images).
      mmengine logs a list value as non-scalar information: it is printed in
      the text log, kept out of the scalar backends (JSON / TensorBoard), and
      does not disturb ``save_best``. Set ``per_class=False`` to keep logs
      short with many classes.

    **How the training counts arrive.** The shot groups need the number of
    *training* images per class, which the metric never reads from a
    config. ``ClassCountsHook`` (``shike_mm.engine.hooks``) reads them from
    the training dataset with :func:`shike_mm.datasets.get_class_counts` in
    ``before_run`` and calls :meth:`set_class_counts` on every metric of the
    val / test evaluators. Without counts the metric still reports top-k
    accuracy and warns once that the shot groups are unavailable.

    To keep memory small the metric stores, per test image, only its label
    and its ``max(topk)`` best predicted classes, not the whole score vector.

    Args:
        topk (int | Sequence[int]): The k of the top-k accuracies.
            Defaults to (1, 5).
        many_shot_thr (int): Classes with more training images than this are
            many-shot. Defaults to 100.
        few_shot_thr (int): Classes with fewer training images than this are
            few-shot. Defaults to 20.
        per_class (bool): Report ``per_class`` accuracies. Defaults to True.
        collect_device (str): ``'cpu'`` or ``'gpu'``, device used to collect
            results across ranks. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None, i.e.
            ``'accuracy'``.
    """
    default_prefix: Optional[str] = 'accuracy'

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, 5),
                 many_shot_thr: int = MANY_SHOT_THR,
                 few_shot_thr: int = FEW_SHOT_THR,
                 per_class: bool = True,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not self.topk or min(self.topk) < 1:
            raise ValueError(f'LongTailAccuracy: topk must hold positive '
                             f'integers, got {topk!r}')
        if few_shot_thr > many_shot_thr:
            raise ValueError(
                f'LongTailAccuracy: few_shot_thr ({few_shot_thr}) must not '
                f'exceed many_shot_thr ({many_shot_thr})')
        self.many_shot_thr = many_shot_thr
        self.few_shot_thr = few_shot_thr
        self.per_class = per_class
        self._init_class_counts()
        self.expert_costs: Optional[tuple] = None
        self._warned_no_counts = False

    def set_expert_costs(self,
                         shared: float,
                         experts: Sequence[float],
                         router: float = 0.0) -> None:
        """Give the metric the cost of the shared part, of each expert and
        of one router evaluation (multiply-adds per image), for
        ``relative_flops``. Called by ``RoutingCostHook``."""
        self.expert_costs = (float(shared), [float(e) for e in experts],
                             float(router))

    @staticmethod
    def shot_groups(class_counts: Sequence[int],
                    many_shot_thr: int = MANY_SHOT_THR,
                    few_shot_thr: int = FEW_SHOT_THR) -> Dict[str, np.ndarray]:
        """Which classes are many-, medium- and few-shot: see
        :func:`shike_mm.structures.shot_groups`, which this calls (kept as
        a static method for callers without the structures import)."""
        return shot_groups(class_counts, many_shot_thr, few_shot_thr)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store label and top predictions of every sample of a batch.

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs; each has
                ``gt_label`` and ``pred_score`` (C, ) or ``pred_label``.
        """
        maxk = max(self.topk)
        for data_sample in data_samples:
            result = dict(gt_label=int(data_sample['gt_label'].reshape(-1)[0]))
            if 'pred_score' in data_sample:
                score = data_sample['pred_score'].detach().reshape(-1).cpu()
                result['num_classes'] = score.numel()
                k = min(maxk, score.numel())
                result['topk'] = score.topk(k).indices
            else:
                result['topk'] = data_sample['pred_label'].reshape(-1)[:1]
                result['num_classes'] = None
            if 'num_experts' in data_sample:
                result['num_experts'] = int(data_sample['num_experts'])
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        """Compute the accuracies from the stored results.

        Args:
            results (list[dict]): What :meth:`process` stored, all ranks.

        Returns:
            dict: Metric name (without prefix) to value.
        """
        gt = torch.tensor([r['gt_label'] for r in results], dtype=torch.long)
        has_scores = results[0]['num_classes'] is not None
        if has_scores:
            num_classes = results[0]['num_classes']
            if max(self.topk) > num_classes:
                raise ValueError(
                    f'LongTailAccuracy: top-{max(self.topk)} accuracy is '
                    f'unavailable with {num_classes} classes; set `topk` of '
                    'val_evaluator / test_evaluator accordingly.')
        else:
            num_classes = int(gt.max()) + 1
        if self.class_counts is not None:
            if has_scores and len(self.class_counts) != num_classes:
                raise ValueError(
                    f'LongTailAccuracy: the model predicts {num_classes} '
                    f'classes but {len(self.class_counts)} training class '
                    'counts were set.')
            num_classes = len(self.class_counts)
        if int(gt.max()) >= num_classes or int(gt.min()) < 0:
            raise ValueError(
                f'LongTailAccuracy: ground-truth labels span '
                f'[{int(gt.min())}, {int(gt.max())}], outside '
                f'[0, {num_classes}).')
        width = max(r['topk'].numel() for r in results)
        topk = torch.full((len(results), width), -1, dtype=torch.long)
        for i, r in enumerate(results):
            topk[i, :r['topk'].numel()] = r['topk'].long()
        correct = topk.eq(gt[:, None])

        metrics = {}
        ks = self.topk if has_scores else (1, )
        for k in ks:
            metrics[f'top{k}'] = correct[:, :k].any(1).float().mean().item(
            ) * 100.

        top1 = correct[:, 0].double()
        hits = torch.zeros(num_classes, dtype=torch.float64).index_add_(
            0, gt, top1)
        seen = torch.bincount(gt, minlength=num_classes).double()
        per_class = torch.where(seen > 0, hits / seen.clamp(min=1) * 100.,
                                torch.full_like(seen, math.nan))

        if self.class_counts is None:
            if not self._warned_no_counts:
                print_log(
                    'LongTailAccuracy: no training class counts were set '
                    '(set_class_counts was not called; is ClassCountsHook '
                    'in custom_hooks?), so accuracy/many, accuracy/medium '
                    'and accuracy/few are unavailable.',
                    logger='current',
                    level=logging.WARNING)
                self._warned_no_counts = True
        else:
            groups = self.shot_groups(self.class_counts, self.many_shot_thr,
                                      self.few_shot_thr)
            print_log(
                'LongTailAccuracy: shot groups from the training counts of '
                f'{self.counts_source or "set_class_counts"}: '
                + ', '.join(f'{name} {int(mask.sum())} classes'
                            for name, mask in groups.items()),
                logger='current')
            per_class_np = per_class.numpy()
            for name, mask in groups.items():
                values = per_class_np[mask]
                values = values[~np.isnan(values)]
                if values.size:
                    metrics[name] = float(values.mean())
        used = [r['num_experts'] for r in results if 'num_experts' in r]
        if used:
            metrics['experts_used'] = float(np.mean(used))
            if self.expert_costs is not None:
                from shike_mm.utils.routing_flops import \
                    routing_relative_flops
                shared, experts, router = self.expert_costs
                metrics['relative_flops'] = routing_relative_flops(
                    used, shared, experts, router)
        if self.per_class:
            metrics['per_class'] = [float(v) for v in per_class.tolist()]
        return metrics
