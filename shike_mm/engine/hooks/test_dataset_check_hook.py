# Copyright (c) shike-mm contributors. All rights reserved.
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from ..checkpoint.check import check_checkpoint_dataset


def empty_test_set(name: str) -> ValueError:
    """The error for a test dataset without images, naming it."""
    return ValueError(
        f'the test dataset ({name}) is empty: no image to evaluate. Check '
        'test_dataloader.dataset (data_root, ann_file, data_prefix, '
        'indices or a filter that leaves nothing).')


@HOOKS.register_module()
class TestDatasetCheckHook(Hook):
    """Refuse an empty test dataset, and a loaded checkpoint trained on
    other classes than the test dataset's (:func:`check_checkpoint_dataset`)
    unless ``allow_mismatch``. ``tools/test.py`` registers it.

    Args:
        filename (str): The checkpoint, for the message.
        allow_mismatch (bool): Test a checkpoint of other classes anyway
            (``--allow-dataset-mismatch``).
    """

    priority = 'VERY_HIGH'  # before the class counts are handed out

    def __init__(self, filename: str, allow_mismatch: bool) -> None:
        self.filename, self.allow_mismatch = filename, allow_mismatch

    @staticmethod
    def _dataset(runner):
        return runner.test_loop.dataloader.dataset

    def before_run(self, runner) -> None:
        dataset = self._dataset(runner)
        if len(dataset) == 0:
            raise empty_test_set(type(dataset).__name__)

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if self.allow_mismatch:
            return
        dataset = self._dataset(runner)
        metainfo = getattr(dataset, 'metainfo', None) or {}
        check_checkpoint_dataset(
            checkpoint.get('meta'), metainfo.get('classes'), self.filename,
            f'the test dataset ({type(dataset).__name__})')
