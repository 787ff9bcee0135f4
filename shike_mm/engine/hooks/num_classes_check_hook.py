# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional, Tuple

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmpretrain.registry import HOOKS

from shike_mm.datasets.class_counts import _num_classes_of, get_sample_labels


def model_num_classes(model) -> List[Tuple[str, int]]:
    """``(name, num_classes)`` of every sub-module that declares an integer
    ``num_classes`` (heads, the data preprocessor, count-aware losses)."""
    if is_model_wrapper(model):
        model = model.module
    found = []
    for name, module in model.named_modules():
        value = getattr(module, 'num_classes', None)
        if isinstance(value, int) and not isinstance(value, bool):
            found.append((f'model.{name}' if name else 'model', value))
    return found


@HOOKS.register_module()
class NumClassesCheckHook(Hook):
    """Check, before the first step, that the model's ``num_classes`` fits
    the data.

    Without it a head with fewer classes than the data fails at iteration 1
    with torch's ``Target 6 is out of bounds``, and a head with more
    classes trains a whole epoch and saves it before the metric fails.

    For the training, validation and test sets in turn (before training,
    before the first validation, before testing) the number of classes of
    the data is ``len(metainfo['classes'])`` when the dataset declares class
    names (the project's datasets and the :class:`LongTailDataset` wrapper
    do), and every module's ``num_classes`` must equal it; in any case every
    label must be smaller than each ``num_classes``. The error names the
    module, its ``num_classes``, the dataset and its number of classes.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._checked = set()

    def _check(self, runner, split: str) -> None:
        if split in self._checked:
            return
        self._checked.add(split)
        loader = getattr(runner, f'{split}_dataloader', None)
        dataset = getattr(loader, 'dataset', None)
        if dataset is None:
            return
        declared = _num_classes_of(dataset)
        try:
            labels = get_sample_labels(dataset)
        except (TypeError, ValueError):
            labels = None
        largest: Optional[int] = (int(labels.max()) if labels is not None
                                  and labels.size else None)
        what = f'the {split} set ({type(dataset).__name__})'
        for name, num in model_num_classes(runner.model):
            if declared is not None and num != declared:
                raise ValueError(
                    f'{name}.num_classes={num} but {what} has {declared} '
                    'classes (metainfo classes); set num_classes to '
                    f'{declared} in the config.')
            if largest is not None and largest >= num:
                raise ValueError(
                    f'{name}.num_classes={num} but {what} holds label '
                    f'{largest}, so it has at least {largest + 1} classes.')

    def before_train(self, runner) -> None:
        self._check(runner, 'train')

    def before_val(self, runner) -> None:
        self._check(runner, 'val')

    def before_test(self, runner) -> None:
        self._check(runner, 'test')
