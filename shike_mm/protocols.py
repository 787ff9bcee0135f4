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


class EpochValued:
    """A component with constructor arguments that are epochs.

    Caller: :func:`shike_mm.engine.stages.rescale` (``tools/train.py
    --epochs N``, ``tools/compare.py --epochs N``), which finds the class
    of each config entry under ``model`` and ``custom_hooks`` through the
    registry by its ``type`` and moves the arguments named in
    :attr:`epoch_valued_args` with the rest of the schedule; it also
    refuses values that are not 0-based epoch indices (None is kept).

    Implementers set the class attribute (inheriting this class is
    optional; the attribute is what is read): ``LDAMLoss`` and
    ``RIDELoss`` (``drw_epoch``).
    """

    #: Names of the ``__init__`` arguments that hold a 0-based epoch.
    epoch_valued_args: Tuple[str, ...] = ()


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
    ``'router'`` and any :class:`HeadMode` a config adds). Its mode is
    persistent state (in checkpoints), so that
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


class FusionRule:
    """How a multi-expert head fuses its experts' logits into one.

    Caller: ``MultiExpertFusionHead``, which builds its rule from the
    ``fusion`` config (mmpretrain's ``MODELS`` registry; default
    ``dict(type='MeanFusion')``) and keeps it as the submodule
    ``head.fusion``, so that a rule's parameters, if any, are under
    ``head.fusion.*`` in the state dict. The head calls it in ``forward``,
    for the training accuracy (``cal_acc``) and for its predictions (not
    routed ones: a routed prediction is the mean of the experts used).
    Analysis code reads it as :attr:`ExpertLogitsHead.fusion`.

    Implementers: ``MeanFusion``. An implementer is an ``nn.Module`` (put
    this class first in the bases) registered in ``MODELS``.
    """

    def forward(self, expert_logits):
        """Fuse the experts' logits.

        Args:
            expert_logits (Tensor): Shape (M, B, C), floating point.

        Returns:
            Tensor: The fused logits, shape (B, C).
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement forward')


class PredictedLogitsHead:
    """A head that exposes the logits it predicts with.

    Callers: analysis code (``shike_mm.analysis.prediction_rules``), which
    needs the (B, C) logits whose softmax ``predict`` reports, without the
    data samples.

    Implementers: ``MultiExpertFusionHead`` (fused or routed logits of the
    mode in force), ``PostHocAdjustedHead`` (the adjusted logits). Any
    other head predicts from ``head(feats)``.
    """

    def predicted_logits(self, feats):
        """The logits ``predict`` takes the softmax of.

        Args:
            feats: The head's input (the neck's output).

        Returns:
            Tensor: Shape (B, C).
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement predicted_logits')


class ExpertLogitsHead(PredictedLogitsHead):
    """A head made of M experts, each with its own classifier.

    Callers: analysis code (per-expert accuracy, prediction rules, the
    per-expert cost of routed inference) and a method's own components
    (losses, fusion rules, head modes), which read the experts through
    :meth:`expert_logits` and :attr:`fusion` only.

    Implementer: ``MultiExpertFusionHead``.
    """

    #: Number of experts M.
    num_experts: int

    #: The :class:`FusionRule` in use, an ``nn.Module``.
    fusion: FusionRule

    @property
    def expert_classifiers(self):
        """Sequence[nn.Module]: The M classifiers in use (the set of the
        mode in force), each mapping (B, D) features to (B, C) logits."""
        raise NotImplementedError

    def pre_logits(self, feats):
        """Check the neck's output and return the M (B, D) features."""
        raise NotImplementedError(
            f'{type(self).__name__} must implement pre_logits')

    def expert_logits(self, feats):
        """Logits of every expert with the classifiers in use.

        Args:
            feats (Sequence[Tensor]): The neck's tuple of M pooled features,
                each (B, D).

        Returns:
            Tensor: Shape (M, B, C), in the dtype the classifiers produce.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement expert_logits')


class HeadMode:
    """One mode of a head made of mode components: which classifier set
    the head uses, which losses it computes and how it predicts.

    Caller: ``MultiExpertFusionHead``, which holds its modes in the
    ``ModuleDict`` ``head.modes`` (built-in ``ExpertsMode``,
    ``RetrainMode``, ``RouterMode``, then the configs in ``extra_modes``)
    and hands every ``loss`` / ``predict`` call to the mode in force,
    passing itself as ``head`` (an :class:`ExpertLogitsHead`). A mode is
    an ``nn.Module`` registered in ``MODELS``; a loss or module it owns is
    in the state dict under ``head.modes.<name>.*``.

    The mode in force is recorded in persistent bool buffers of the head,
    one per mode that has a :attr:`flag`: switching to a mode with
    ``classifiers=None`` (an add-on such as routing) keeps the classifier
    set of the mode before it; switching to any other mode clears every
    flag but its own.

    Implementers: ``ExpertsMode`` (``'experts'``), ``RetrainMode``
    (``'retrain'``), ``RouterMode`` (``'router'``), all on
    ``ExpertHeadMode``, which gives the default ``loss`` and ``predict``.
    """

    #: The name ``set_mode`` takes (stage recipes name it).
    name: str = ''
    #: The head's persistent bool buffer recording the mode; None for the
    #: base mode (the head's first, in force when no flag is set).
    flag: Optional[str] = None
    #: Attribute of the head holding the classifier set the mode uses;
    #: None keeps the set of the mode before it.
    classifiers: Optional[str] = 'classifiers'

    def available(self, head) -> bool:
        """Whether ``head`` has what the mode needs (e.g. a router)."""
        raise NotImplementedError(
            f'{type(self).__name__} must implement available')

    def loss(self, head, feats, data_samples, **kwargs) -> dict:
        """The head's loss dict in this mode.

        Args:
            head (ExpertLogitsHead): The head.
            feats (Sequence[Tensor]): M pooled features, each (B, D).
            data_samples (list[DataSample]): With ``gt_label``.

        Returns:
            dict[str, Tensor]: Scalar losses (keys starting with ``loss``).
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement loss')

    def predict(self, head, feats, data_samples):
        """The head's predictions in this mode.

        Returns:
            list[DataSample]: With ``pred_score`` and ``pred_label``.
        """
        raise NotImplementedError(
            f'{type(self).__name__} must implement predict')

    def predicted_logits(self, head, feats):
        """The (B, C) logits :meth:`predict` takes the softmax of."""
        raise NotImplementedError(
            f'{type(self).__name__} must implement predicted_logits')


__all__ = [
    'ClassCountsConsumer', 'EpochAware', 'EpochValued', 'ExpertCostsConsumer',
    'ExpertLogitsHead', 'FusionRule', 'HeadMode', 'LogitScaleConsumer',
    'MultiExpertLoss', 'NamedLoss', 'PredictedLogitsHead', 'StagedHead'
]
