# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import DATASETS, HOOKS

from ...protocols import ClassCountsConsumer


@HOOKS.register_module()
class ClassCountsHook(Hook):
    """Hand the training set's per-class image counts to every component
    that needs them.

    Long-tail methods need the class counts ``n_c`` of the training set in
    several places: balanced-softmax and LDAM-style losses (inside the
    model) and the many / medium / few split of the metrics (inside the
    evaluators). This hook is the single route by which they get there, so
    no config ever carries a hand-copied count list.

    In ``before_run`` (train, val and test alike) it reads the counts from
    the training dataset with :func:`shike_mm.datasets.get_class_counts`
    (``class_counts`` of a long-tail wrapper or list-file dataset, else a
    bincount of its labels), then calls ``set_class_counts(counts)`` on
    every :class:`~shike_mm.protocols.ClassCountsConsumer`:

    - every submodule of the model that is one, and
    - every metric of the validation and test evaluators that is one.

    The counts travel with the model: every checkpoint written by a run
    with this hook stores them in ``meta['class_counts']``. A test-only run
    (``tools/test.py``) takes them from the checkpoint it loads, so it needs
    the test split alone; it builds ``train_dataloader.dataset`` from the
    config only for checkpoints without stored counts. The checkpoint's
    counts are those the model was trained with, so they win. The metrics
    are told where the counts came from (``counts_source``).

    Args:
        num_classes (int, optional): Length of the count vector. Defaults to
            the dataset's number of classes.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_classes: Optional[int] = None) -> None:
        self.num_classes = num_classes
        self.counts: Optional[List[int]] = None
        self.source: Optional[str] = None

    def _train_dataset(self, runner) -> Optional[BaseDataset]:
        loader = getattr(runner, '_train_dataloader', None)
        if loader is None:
            return None
        if isinstance(loader, dict):
            dataset_cfg = loader.get('dataset')
            if dataset_cfg is None:
                return None
            if isinstance(dataset_cfg, dict):
                return DATASETS.build(dataset_cfg)
            return dataset_cfg
        return loader.dataset

    @staticmethod
    def _training(runner) -> bool:
        return isinstance(getattr(runner, '_train_loop', None), BaseLoop)

    def before_run(self, runner) -> None:
        """Read the counts from the training set and push them to the model
        and the metrics; a test-only run loading a checkpoint waits for the
        counts stored in it."""
        from shike_mm.datasets import get_class_counts

        testing_checkpoint = (not self._training(runner)
                              and runner._load_from is not None)
        if testing_checkpoint:
            return  # after_load_checkpoint decides
        dataset = self._train_dataset(runner)
        if dataset is None:
            runner.logger.warning(
                'ClassCountsHook: the config has no train_dataloader, so no '
                'class counts reach the losses and metrics.')
            return
        self._set(runner, get_class_counts(dataset, self.num_classes),
                  'the training set of the config')

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        """Use the counts stored in a loaded checkpoint in a test-only run
        (or the training set's when the checkpoint has none)."""
        if self._training(runner):
            return
        stored = (checkpoint.get('meta') or {}).get('class_counts', None)
        if stored is not None:
            self._set(runner, checked_class_counts(
                stored, self._expected_classes(runner),
                getattr(runner, '_load_from', None) or 'the checkpoint'),
                'the checkpoint (meta.class_counts)')
            return
        from shike_mm.datasets import get_class_counts
        try:
            dataset = self._train_dataset(runner)
            counts = None if dataset is None else get_class_counts(
                dataset, self.num_classes)
        except (FileNotFoundError, OSError) as err:
            raise FileNotFoundError(
                'ClassCountsHook: the checkpoint stores no class counts '
                '(written before they were stored), so the many / medium / '
                'few split needs the training set of the config, which '
                f'could not be read: {err}') from err
        if counts is None:
            runner.logger.warning(
                'ClassCountsHook: neither the checkpoint nor the config '
                'provides training class counts; shot groups unavailable.')
            return
        self._set(runner, counts, 'the training set of the config')

    def _expected_classes(self, runner) -> Optional[int]:
        """``num_classes`` of this hook, else of the model's head."""
        if self.num_classes is not None:
            return self.num_classes
        model = runner.model.module if is_model_wrapper(
            runner.model) else runner.model
        head = getattr(model, 'head', None)
        num = getattr(head, 'num_classes', None)
        return num if isinstance(num, int) else None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """Store the counts with the model."""
        if self.counts is not None:
            checkpoint.setdefault('meta', {})['class_counts'] = list(
                self.counts)

    def _set(self, runner, counts: List[int], source: str) -> None:
        counts = [int(c) for c in counts]
        self.counts, self.source = counts, source
        receivers = self._push(runner, counts, source)
        runner.logger.info(
            f'ClassCountsHook: {len(counts)} classes, {sum(counts)} training '
            f'images (max {max(counts)}, min {min(counts)}) from {source}, '
            f'handed to {", ".join(receivers) or "no component"}.')

    @staticmethod
    def _push(runner, counts: List[int], source: str) -> List[str]:
        receivers = []
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        for name, module in model.named_modules():
            if isinstance(module, ClassCountsConsumer):
                module.set_class_counts(counts)
                receivers.append(f'model.{name}' if name else 'model')
        for loop_name in ('_val_loop', '_test_loop'):
            loop = getattr(runner, loop_name, None)
            if not isinstance(loop, BaseLoop):
                continue
            evaluator = getattr(loop, 'evaluator', None)
            for metric in getattr(evaluator, 'metrics', []):
                if isinstance(metric, ClassCountsConsumer):
                    metric.set_class_counts(counts)
                    metric.counts_source = source
                    receivers.append(
                        f'{loop_name[1:]}.{type(metric).__name__}')
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
        ValueError: naming ``meta.class_counts`` and what is wrong (not a
            list, non-numeric or negative entries, all zero, wrong
            length).
    """
    where = f'{filename}: meta.class_counts'
    if isinstance(stored, (torch.Tensor, np.ndarray)):
        stored = stored.tolist()
    if not isinstance(stored, (list, tuple)):
        raise ValueError(
            f'{where} must be a list of per-class image counts, got a '
            f'{type(stored).__name__} ({stored!r:.60})')
    counts = []
    for i, value in enumerate(stored):
        if isinstance(value, np.generic):
            value = value.item()
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or value != int(value) or value < 0):
            raise ValueError(
                f'{where}[{i}] is {value!r:.60}; every entry must be a '
                'non-negative whole number of training images')
        counts.append(int(value))
    if num_classes is not None and len(counts) != num_classes:
        raise ValueError(
            f'{where} has {len(counts)} entries but the model predicts '
            f'{num_classes} classes: the checkpoint does not belong to '
            'this config, or its meta was edited')
    if not counts or sum(counts) == 0:
        raise ValueError(
            f'{where} is all zeros ({len(counts)} entries): no class has a '
            'training image, so the many / medium / few groups and the '
            'class priors would be meaningless')
    return counts
