# Copyright (c) shike-mm contributors. All rights reserved.
from typing import List, Optional

from mmengine.dataset import BaseDataset
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop
from mmpretrain.registry import DATASETS, HOOKS


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

    - every submodule of the model that defines it, and
    - every metric of the validation and test evaluators that defines it.

    For a test-only run the training dataset is built from
    ``train_dataloader.dataset`` in the config just to count its labels.
    When the config has no training data the hook warns and does nothing;
    losses then fall back on counts stored in the loaded checkpoint.

    Args:
        num_classes (int, optional): Length of the count vector. Defaults to
            the dataset's number of classes.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, num_classes: Optional[int] = None) -> None:
        self.num_classes = num_classes

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

    def before_run(self, runner) -> None:
        """Read the counts and push them to the model and the metrics."""
        from shike_mm.datasets import get_class_counts

        dataset = self._train_dataset(runner)
        if dataset is None:
            runner.logger.warning(
                'ClassCountsHook: the config has no train_dataloader, so no '
                'class counts reach the losses and metrics; losses use the '
                'counts stored in the checkpoint, if any.')
            return
        counts = get_class_counts(dataset, self.num_classes)
        receivers = self._push(runner, counts)
        runner.logger.info(
            f'ClassCountsHook: {len(counts)} classes, {sum(counts)} training '
            f'images (max {max(counts)}, min {min(counts)}) handed to '
            f'{", ".join(receivers) or "no component"}.')

    @staticmethod
    def _push(runner, counts: List[int]) -> List[str]:
        receivers = []
        model = runner.model
        if is_model_wrapper(model):
            model = model.module
        for name, module in model.named_modules():
            if callable(getattr(module, 'set_class_counts', None)):
                module.set_class_counts(counts)
                receivers.append(f'model.{name}' if name else 'model')
        for loop_name in ('_val_loop', '_test_loop'):
            loop = getattr(runner, loop_name, None)
            if not isinstance(loop, BaseLoop):
                continue
            evaluator = getattr(loop, 'evaluator', None)
            for metric in getattr(evaluator, 'metrics', []):
                if callable(getattr(metric, 'set_class_counts', None)):
                    metric.set_class_counts(counts)
                    receivers.append(
                        f'{loop_name[1:]}.{type(metric).__name__}')
        return receivers
