# Copyright (c) shike-mm contributors. All rights reserved.
"""The protocols by which shike-mm's components talk to each other.

Every value that one component hands to another (the training class
counts, the epoch, the classifiers' logit scale, the cost of each expert)
and every capability that one component looks for in another (a loss that
takes all experts' logits, a head with training stages) is one small base
class below. An implementer inherits it (put it before ``nn.Module`` /
``BaseMetric`` in the bases) and overrides its methods; a caller finds the
implementers with ``isinstance``. So searching the code for one name finds
every consumer of, say, the class counts, and a new component knows from
the docstring what to implement.

This module is a leaf: it imports nothing from shike-mm, so models,
metrics and hooks can all depend on it. ``docs/design.md`` tabulates the
protocols with their implementers and callers.
"""
from typing import Optional, Sequence, Tuple


class ClassCountsConsumer:
    """A component that needs the training images per class.

    Caller: ``ClassCountsHook``. In a training run it reads the counts
    once from ``runner.train_dataloader.dataset`` (``before_train``); in a
    test-only run it takes those stored in the loaded checkpoint's
    ``meta['class_counts']``. It calls :meth:`set_class_counts` once on
    every outermost consumer of the model (a consumer inside a consumer,
    such as the LDAM loss inside ``RIDELoss``, is fed by its parent) and
    once on every consumer among the metrics of ``runner.val_evaluator``
    and ``runner.test_evaluator`` (when their loop starts), and sets
    :attr:`counts_source` on the metrics.

    Implementers: the model modules through
    :class:`~shike_mm.models.utils.class_count_buffer.ClassCountBuffer`
    (``BalancedSoftmaxLoss``, ``LogitAdjustLoss``, ``LDAMLoss``,
    ``PostHocAdjustedHead``), ``RIDELoss``, and the metrics through
    ``ClassCountsMetricMixin`` (``LongTailAccuracy``,
    ``ShiftedDistributionAccuracy``, ``CalibrationError``).
    """

    #: Where the counts came from (a phrase for the log); set by the hook on
    #: metrics, None until then.
    counts_source: Optional[str] = None

    def set_class_counts(self, counts: Sequence[int]) -> None:
        """Take the training set's class counts; may be called again.

        Args:
            counts (ClassCounts | Sequence[int]): The validated counts
                (:class:`shike_mm.structures.ClassCounts`; its properties
                give the derived quantities: ``log_prior``,
                ``log_counts``, ``shot_groups()``). Implementers also
                accept a plain sequence or a (C, ) tensor of counts and
                validate it with ``ClassCounts.of``.

        The implementer stores what it derives from the counts and passes
        them on to the consumers it contains.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement set_class_counts')


class EpochAware:
    """A component whose behaviour depends on the training epoch.

    Caller: ``EpochAwareHook`` (in the default runtime), with
    ``runner.epoch`` (0-based: the number of finished epochs) in
    ``before_train`` (so also right after a resume, with the epoch the run
    resumes at) and in ``before_train_epoch``, on every submodule of the
    model that is an instance of this class. Before the first call (outside
    a runner) an implementer behaves as at epoch 0.

    Implementers: ``LDAMLoss`` (deferred re-weighting), ``RIDELoss``
    (re-weighting and the class-dependent diversity temperature).

    ``torch.compile``: a compiled training step guards on the Python values
    its forward reads. :meth:`set_epoch` should therefore update state that
    changes rarely (a bool such as "re-weighting on", a weights buffer)
    and ``forward`` read only that, never the epoch itself; otherwise the
    step is recompiled every epoch.
    """

    def set_epoch(self, epoch: int) -> None:
        """Move to ``epoch``.

        Args:
            epoch (int): The 0-based epoch about to be trained.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement set_epoch')


class NamedLoss:
    """A loss that names the key under which a head logs it.

    Caller: :func:`shike_mm.models.losses.loss_key`, used by
    ``MultiExpertFusionHead`` to build its loss dict. Losses that are not
    instances of this class get a key from their class name
    (``CrossEntropyLoss`` -> ``loss_ce``, ``FocalLoss`` -> ``loss_focal``).

    Implementers set :attr:`loss_name` (a class attribute or, for a
    configurable name, an instance attribute). It must start with ``loss``:
    mmengine sums only such keys into the total.
    """

    #: The log key, e.g. ``'loss_dkt'``.
    loss_name: str = ''


class MultiExpertLoss(NamedLoss):
    """A loss computed from the logits of all experts at once.

    Caller: ``MultiExpertFusionHead`` calls such a loss once per step as
    ``loss(expert_logits, target)`` with ``expert_logits`` of shape
    (M, B, C) (float32, or float64 for float64 inputs) and ``target`` class
    indices of shape (B, ); it must return a scalar. Any other loss is
    applied to each expert's (B, C) logits and summed over the experts.

    Implementers: ``DKTLoss``, ``MutualKLLoss``, ``RIDELoss``. They also
    accept a sequence of M (B, C) tensors
    (:func:`~shike_mm.models.utils.expert_logits.stack_expert_logits`).
    """

    #: Kept for code that reads the attribute; ``isinstance`` is the test.
    takes_expert_logits = True


class LogitScaleConsumer:
    """A loss that needs the bound of the classifiers' logits.

    Caller: ``MultiExpertFusionHead``, once in ``__init__``, with the
    ``scale`` of its classifiers (a cosine classifier's logits lie in
    [-scale, scale]) or None for unbounded (linear) classifiers; on every
    loss module of the head that is an instance of this class.

    Implementer: ``DKTLoss`` (the fill value of its teacher's target
    logit).
    """

    def set_logit_scale(self, scale: Optional[float]) -> None:
        """Take the classifiers' logit scale.

        Args:
            scale (float, optional): The bound of the logits; None for
                classifiers without one.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement set_logit_scale')


class ExpertCostsConsumer:
    """A metric that reports the relative cost of routed inference.

    Caller: ``RoutingCostHook``, in ``before_run`` of a run whose head has
    a router, on every metric of the validation and test evaluators that
    is an instance of this class.

    Implementer: ``LongTailAccuracy`` (``relative_flops``).
    """

    def set_expert_costs(self,
                         shared: float,
                         experts: Sequence[float],
                         router: float = 0.0) -> None:
        """Take the cost of each part of the model for one image.

        Args:
            shared (float): Multiply-adds of the shared part (stem and
                shared stages).
            experts (Sequence[float]): Multiply-adds of each expert's own
                layers, M values.
            router (float): Multiply-adds of one router evaluation.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement set_expert_costs')


class StagedHead:
    """A head that trains in stages with a different mode in each.

    Callers: the stage hook (``StageSwitchHook``), which puts the head
    in the mode of the stage that the epoch falls in before training and
    switches it at each boundary, and tools that evaluate one stage.
    Freezing parameters is the caller's job; the head only changes which
    classifiers it uses and which losses it computes.

    Implementer: ``MultiExpertFusionHead`` (``'experts'``, ``'retrain'``,
    ``'router'``). Its mode is persistent state (in checkpoints), so that
    a test of a finished run predicts with the classifiers the run ended
    with.
    """

    @property
    def mode(self) -> str:
        """str: The current mode, one of :attr:`available_modes`."""
        raise NotImplementedError

    @property
    def available_modes(self) -> Tuple[str, ...]:
        """tuple[str]: The modes this head supports, the first stage's
        first."""
        raise NotImplementedError

    def set_mode(self, mode: str) -> None:
        """Switch to ``mode``.

        Args:
            mode (str): One of :attr:`available_modes`.

        Raises:
            ValueError: For any other mode, naming the available ones.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement set_mode')


__all__ = [
    'ClassCountsConsumer', 'EpochAware', 'ExpertCostsConsumer',
    'LogitScaleConsumer', 'MultiExpertLoss', 'NamedLoss', 'StagedHead'
]
