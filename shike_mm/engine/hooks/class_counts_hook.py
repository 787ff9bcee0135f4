# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import DATASETS, HOOKS

from ...datasets import read_class_counts
from ...models.utils.class_count_buffer import (align_derived_count_keys,
                                                derived_count_keys)
from ...protocols import ClassCountsConsumer
from ...structures import ClassCounts
from .protocol_receivers import outermost_instances

#: ``counts_source`` of counts read from a checkpoint.
FROM_CHECKPOINT = 'the checkpoint (meta.class_counts)'


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Hand the training set's per-class image counts to every component
    that needs them, once.

    Long-tail methods need the class counts ``n_c`` of the training set in
    several places: balanced-softmax, logit-adjusted and LDAM-style losses
    and post-hoc adjusted heads (inside the model) and the many / medium /
    few split of the metrics (inside the evaluators). This hook is the
    single route by which they get there, as one validated
    :class:`~shike_mm.structures.ClassCounts` value, so no config carries
    a hand-copied count list.

    Where the counts come from:

    - a training run reads them once, in ``before_train``, from
      ``runner.train_dataloader.dataset`` (the training set the run
      trains on, through the runner's public property; the set is not
      built again), with :func:`shike_mm.datasets.read_class_counts`;
    - a test-only (or validation-only) run takes those stored in the
      checkpoint it loads; only for a checkpoint without them (written
      before they were stored) it builds ``cfg.train_dataloader.dataset``
      to count its labels.

    Who receives them (each consumer once per run,
    :meth:`ClassCountsConsumer.set_class_counts
    <shike_mm.protocols.ClassCountsConsumer.set_class_counts>`):

    - the outermost :class:`~shike_mm.protocols.ClassCountsConsumer`
      submodules of the model (a consumer feeds those it contains, e.g.
      ``RIDELoss`` its ``LDAMLoss``), in ``before_train``, or in
      ``before_val`` / ``before_test`` of a run without training;
    - the consumers among ``runner.val_evaluator.metrics`` in
      ``before_val`` and ``runner.test_evaluator.metrics`` in
      ``before_test``, with ``counts_source`` saying where the counts
      came from.

    Where they are stored: once, in the checkpoint's
    ``meta['class_counts']`` (a list of ints). ``meta`` rather than model
    buffers, because the metrics, the analysis tools and a test-only run
    need the counts of every model, also of one without a count-aware
    module (plain cross-entropy), and can read ``meta`` without building
    a model. What a loss derives from the counts is therefore left out of
    the checkpoint's weights (``ClassCountBuffer.count_buffer_in_checkpoint``,
    :func:`~shike_mm.models.utils.class_count_buffer.derived_count_keys`);
    a post-hoc adjusted head keeps its log prior with the weights because
    it predicts with it, and loaders without hooks (mmpretrain's
    ``get_model`` and inferencers) restore only weights. Checkpoints
    written before this layout hold the counts in both places and still
    load: when a checkpoint is loaded the derived buffers in its weights
    are replaced by the model's own (or dropped), and the counts in its
    ``meta`` are used.

    Args:
        num_classes (int, optional): Length of the count vector. Defaults to
            the dataset's number of classes.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_classes: Optional[int] = None) -> None:
        self.num_classes = num_classes
        #: The counts of this run, None until read.
        self.counts: Optional[ClassCounts] = None
        #: Where :attr:`counts` came from, a phrase for the log.
        self.source: Optional[str] = None
        self._stored: Optional[ClassCounts] = None
        self._stored_where: Optional[str] = None
        self._model_fed = False
        self._fed_metrics: set = set()

    # ------------------------------------------------------------------
    # reading the counts
    # ------------------------------------------------------------------
    def before_train(self, runner) -> None:
        """Read the counts once from the training set the run trains on
        and hand them to the model's consumers."""
        dataset = runner.train_dataloader.dataset
        counts = read_class_counts(dataset, self.num_classes)
        if self._stored is not None and self._stored != counts:
            runner.logger.warning(
                f'ClassCountsHook: {self._stored_where} holds other counts '
                f'({self._stored}) than the training set ({counts}); the '
                'training set\'s are used.')
        self._use(counts, 'the training set')
        self._feed_model(runner)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Keep the counts stored in a loaded checkpoint (validated), and
        make the derived count buffers in its weights agree with the
        model (older checkpoints hold them)."""
        stored = (checkpoint.get('meta') or {}).get('class_counts', None)
        if stored is not None:
            where = f'{self._checkpoint_name(runner)}: meta.class_counts'
            self._stored = ClassCounts.of(stored,
                                          self._expected_classes(runner),
                                          where)
            self._stored_where = where
        state_dict = checkpoint.get('state_dict')
        if not isinstance(state_dict, dict):
            return
        align_derived_count_keys(self._model(runner), state_dict)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the counts once, in ``meta['class_counts']``, and leave
        what the losses derive from them out of the weights."""
        if self.counts is not None:
            checkpoint.setdefault('meta', {})['class_counts'] = \
                self.counts.tolist()
        state_dict = checkpoint.get('state_dict')
        if isinstance(state_dict, dict):
            for key in derived_count_keys(self._model(runner)):
                state_dict.pop(key, None)

    # ------------------------------------------------------------------
    # handing them over
    # ------------------------------------------------------------------
    def before_val(self, runner) -> None:
        """Hand the counts to the validation metrics (and, in a run
        without training, to the model)."""
        self._feed_evaluator(runner, runner.val_evaluator, 'val_evaluator')

    def before_test(self, runner) -> None:
        """Hand the counts to the test metrics (and, in a test-only run,
        to the model)."""
        self._feed_evaluator(runner, runner.test_evaluator, 'test_evaluator')

    def _feed_evaluator(self, runner, evaluator, name: str) -> None:
        if self.counts is None:
            self._read_without_training(runner)
        if self.counts is None:
            return
        if not self._model_fed:
            self._feed_model(runner)
        receivers = []
        for metric in getattr(evaluator, 'metrics', []):
            if (isinstance(metric, ClassCountsConsumer)
                    and id(metric) not in self._fed_metrics):
                metric.set_class_counts(self.counts)
                metric.counts_source = self.source
                self._fed_metrics.add(id(metric))
                receivers.append(f'{name}.{type(metric).__name__}')
        if receivers:
            runner.logger.info(
                f'ClassCountsHook: counts from {self.source} handed to '
                f'{", ".join(receivers)}.')

    def _read_without_training(self, runner) -> None:
        """The stored counts, else (a checkpoint without them, or none)
        those of ``cfg.train_dataloader.dataset``."""
        if self._stored is not None:
            self._use(self._stored, FROM_CHECKPOINT)
            return
        dataset_cfg = (runner.cfg.get('train_dataloader') or {}).get(
            'dataset')
        if dataset_cfg is None:
            runner.logger.warning(
                'ClassCountsHook: neither a checkpoint nor the config '
                '(train_dataloader.dataset) provides training class counts; '
                'shot groups unavailable.')
            return
        try:
            dataset = DATASETS.build(dataset_cfg)
        except (FileNotFoundError, OSError) as err:
            raise FileNotFoundError(
                'ClassCountsHook: the checkpoint stores no class counts '
                '(written before they were stored), so the many / medium / '
                'few split needs the training set of the config, which '
                f'could not be read: {err}') from err
        self._use(read_class_counts(dataset, self.num_classes),
                  'the training set of the config')

    def _use(self, counts: ClassCounts, source: str) -> None:
        self.counts, self.source = counts, source

    def _feed_model(self, runner) -> None:
        receivers = deliver_class_counts(self._model(runner), self.counts)
        self._model_fed = True
        runner.logger.info(
            f'ClassCountsHook: {self.counts.num_classes} classes, '
            f'{self.counts.total} training images (max {max(self.counts)}, '
            f'min {min(self.counts)}) from {self.source}, handed to '
            f'{", ".join(receivers) or "no model component"}.')

    # ------------------------------------------------------------------
    # helpers
    # ------------------------------------------------------------------
    @staticmethod
    def _model(runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    @staticmethod
    def _checkpoint_name(runner) -> str:
        """The checkpoint's path as the config names it, for errors."""
        resume = runner.cfg.get('resume')
        return (runner.cfg.get('load_from')
                or (resume if isinstance(resume, str) else None)
                or 'the checkpoint')

    def _expected_classes(self, runner) -> Optional[int]:
        """``num_classes`` of this hook, else of the model's head."""
        if self.num_classes is not None:
            return self.num_classes
        head = getattr(self._model(runner), 'head', None)
        num = getattr(head, 'num_classes', None)
        return num if isinstance(num, int) else None


def deliver_class_counts(model, counts: ClassCounts) -> List[str]:
    """Call ``set_class_counts(counts)`` once on every outermost
    :class:`~shike_mm.protocols.ClassCountsConsumer` of ``model``.

    Args:
        model (nn.Module): The model or a wrapper of it.
        counts (ClassCounts): The counts.

    Returns:
        list[str]: The receivers, ``'model.<name>'``.
    """
    receivers = []
    for name, module in outermost_instances(model, ClassCountsConsumer):
        module.set_class_counts(counts)
        receivers.append(name)
    return receivers


def checked_class_counts(stored, num_classes: Optional[int],
                         filename: str) -> List[int]:
    """Validate ``meta['class_counts']`` of a loaded checkpoint.

    Args:
        stored: The stored value.
        num_classes (int, optional): The number of classes the model
            predicts; the counts must have this length.
        filename (str): Named in the error.

    Returns:
        list[int]: The counts.

    Raises:
        ValueError: From :meth:`ClassCounts.of
            <shike_mm.structures.ClassCounts.of>`, naming
            ``<filename>: meta.class_counts`` and what is wrong.
    """
    return ClassCounts.of(stored, num_classes,
                          f'{filename}: meta.class_counts').tolist()
