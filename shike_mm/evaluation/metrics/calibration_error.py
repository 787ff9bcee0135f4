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
class CalibrationError(ClassCountsMetricMixin, BaseMetric):
    """Expected calibration error and negative log-likelihood, overall and
    per many / medium / few-shot group.

    Long-tail models are over-confident, most of all on the tail (Zhong et
    al., "Improving Calibration for Long-Tailed Recognition", MiSLAS, CVPR
    2021). This metric measures it from the predicted probabilities alone.

    **Which probabilities.** The ``pred_score`` of each predicted data
    sample: the probabilities the model predicts with. For
    ``MultiExpertFusionHead`` (SHIKE, RIDE) that is
    ``softmax(mean_m z_m)``, the softmax of the *mean of the experts'
    logits* of the classifier set in use (the retrain classifiers after
    SHIKE's stage 2; with routed inference, the mean over the experts a
    sample used), not the mean of the experts' softmaxes. For
    ``PostHocAdjustedHead`` it is the softmax of the adjusted logits; for
    mmpretrain's ``LinearClsHead`` the softmax of its logits.

    **Definitions.** ``p_i`` is the probability vector of image ``i``,
    ``y_i`` its label, the confidence ``conf_i = max_c p_ic`` and the
    prediction ``argmax_c p_ic``.

    - ECE (Guo et al., ICML 2017), ``num_bins`` equal-width bins (15 by
      default): bin ``b`` holds the images with ``conf_i`` in
      ``((b - 1) / B, b / B]`` (a confidence of exactly 0 in bin 1);
      ``ECE = sum_b |bin_b| / N * |acc(bin_b) - mean conf(bin_b)|``,
      reported in percent (0-100), like the accuracies.
    - NLL: ``mean_i -log p_{i, y_i}`` in nats, with ``p`` clamped below
      at ``1e-12`` (a float32 softmax can round a tiny probability to 0),
      so one image adds at most 27.6.

    Per group, the same quantities over the test images whose *true* class
    is many-, medium- or few-shot (thresholds of
    :class:`LongTailAccuracy`), each group with its own bins.

    Reported keys (default prefix ``'calibration'``): ``ece``, ``nll``,
    and, with training class counts, ``ece_many``, ``ece_medium``,
    ``ece_few``, ``nll_many``, ``nll_medium``, ``nll_few`` (a group
    without test images is left out). The counts arrive through
    :meth:`set_class_counts`, called by ``ClassCountsHook``; without them
    only the overall keys are reported, with a warning.

    Args:
        num_bins (int): Equal-width confidence bins of the ECE. Defaults to
            15.
        many_shot_thr (int): As in :class:`LongTailAccuracy`. Defaults to
            100.
        few_shot_thr (int): As in :class:`LongTailAccuracy`. Defaults to 20.
        collect_device (str): ``'cpu'`` or ``'gpu'``. Defaults to ``'cpu'``.
        prefix (str, optional): Key prefix. Defaults to None, i.e.
            ``'calibration'``.
    """
    default_prefix: Optional[str] = 'calibration'
    #: Lower clamp of the probability of the true class in the NLL.
    min_prob = 1e-12

    def __init__(self,
                 num_bins: int = 15,
                 many_shot_thr: int = MANY_SHOT_THR,
                 few_shot_thr: int = FEW_SHOT_THR,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_bins < 1:
            raise ValueError(
                f'CalibrationError: num_bins must be positive, got '
                f'{num_bins}')
        self.num_bins = num_bins
        self.many_shot_thr = many_shot_thr
        self.few_shot_thr = few_shot_thr
        self._init_class_counts()

    # ------------------------------------------------------------------
    # the numbers, usable without an instance (tests, analysis tools)
    # ------------------------------------------------------------------
    @staticmethod
    def reliability_bins(confidence: np.ndarray,
                         correct: np.ndarray,
                         num_bins: int = 15) -> Dict[str, np.ndarray]:
        """Equal-width confidence bins.

        Args:
            confidence (np.ndarray): (N, ) max probability of each image.
            correct (np.ndarray): (N, ) bool, the prediction is right.
            num_bins (int): B. Defaults to 15.

        Returns:
            dict[str, np.ndarray]: ``edges`` (B + 1, ), ``count`` (B, )
            images per bin, ``accuracy`` and ``confidence`` (B, ) their
            mean correctness and confidence in [0, 1] (NaN for an empty
            bin).
        """
        confidence = np.asarray(confidence, dtype=np.float64)
        correct = np.asarray(correct, dtype=np.float64)
        edges = np.linspace(0., 1., num_bins + 1)
        # bin b holds (edges[b], edges[b + 1]]
        index = np.clip(
            np.searchsorted(edges, confidence, side='left') - 1, 0,
            num_bins - 1)
        count = np.bincount(index, minlength=num_bins)
        with np.errstate(invalid='ignore', divide='ignore'):
            accuracy = np.bincount(
                index, weights=correct, minlength=num_bins) / count
            mean_conf = np.bincount(
                index, weights=confidence, minlength=num_bins) / count
        return dict(edges=edges, count=count, accuracy=accuracy,
                    confidence=mean_conf)

    @classmethod
    def expected_calibration_error(cls,
                                   confidence: np.ndarray,
                                   correct: np.ndarray,
                                   num_bins: int = 15) -> float:
        """ECE as a fraction in [0, 1] (see the class docstring).

        Args:
            confidence (np.ndarray): (N, ), N > 0.
            correct (np.ndarray): (N, ) bool.
            num_bins (int): B. Defaults to 15.
        """
        bins = cls.reliability_bins(confidence, correct, num_bins)
        used = bins['count'] > 0
        gap = np.abs(bins['accuracy'][used] - bins['confidence'][used])
        return float((bins['count'][used] * gap).sum() /
                     bins['count'].sum())

    @classmethod
    def negative_log_likelihood(cls, true_prob: np.ndarray) -> float:
        """Mean ``-log p_y`` in nats, ``p_y`` clamped at :attr:`min_prob`.

        Args:
            true_prob (np.ndarray): (N, ) probability of the true class.
        """
        p = np.clip(np.asarray(true_prob, dtype=np.float64), cls.min_prob,
                    1.)
        return float(-np.log(p).mean())

    # ------------------------------------------------------------------
    # BaseMetric
    # ------------------------------------------------------------------
    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Store label, confidence, prediction and the probability of the
        true class of every sample.

        Args:
            data_batch: A batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs; each has
                ``gt_label`` and ``pred_score`` (C, ).
        """
        for data_sample in data_samples:
            if 'pred_score' not in data_sample:
                raise KeyError('CalibrationError needs the predicted '
                               'probabilities (pred_score) of every sample')
            score = data_sample['pred_score'].detach().reshape(-1).double()
            label = int(data_sample['gt_label'].reshape(-1)[0])
            if not 0 <= label < score.numel():
                raise ValueError(
                    f'CalibrationError: label {label} outside the '
                    f'{score.numel()} predicted classes')
            conf, pred = score.max(0)
            self.results.append(
                dict(gt_label=label,
                     num_classes=score.numel(),
                     confidence=float(conf),
                     correct=int(pred) == label,
                     true_prob=float(score[label])))

    def compute_metrics(self, results: List[dict]) -> dict:
        """ECE (percent) and NLL, overall and per group.

        Args:
            results (list[dict]): What :meth:`process` stored, all ranks.

        Returns:
            dict: Metric name (without prefix) to value.
        """
        labels = np.array([r['gt_label'] for r in results])
        conf = np.array([r['confidence'] for r in results])
        correct = np.array([r['correct'] for r in results])
        true_prob = np.array([r['true_prob'] for r in results])
        subsets = dict(all=np.ones(len(results), dtype=bool))
        if self.class_counts is None:
            print_log(
                'CalibrationError: no training class counts were set (is '
                'ClassCountsHook in default_hooks?), so the per-group ECE '
                'and NLL are unavailable.',
                logger='current',
                level=logging.WARNING)
        else:
            num_classes = results[0]['num_classes']
            if len(self.class_counts) != num_classes:
                raise ValueError(
                    f'CalibrationError: the model predicts {num_classes} '
                    f'classes but {len(self.class_counts)} training class '
                    'counts were set.')
            groups = LongTailAccuracy.shot_groups(self.class_counts,
                                                  self.many_shot_thr,
                                                  self.few_shot_thr)
            for group, mask in groups.items():
                subsets[group] = mask[labels]
        metrics = {}
        for name, mask in subsets.items():
            if not mask.any():
                continue
            suffix = '' if name == 'all' else f'_{name}'
            metrics[f'ece{suffix}'] = self.expected_calibration_error(
                conf[mask], correct[mask], self.num_bins) * 100.
            metrics[f'nll{suffix}'] = self.negative_log_likelihood(
                true_prob[mask])
        return metrics
