# Copyright (c) shike-mm contributors. All rights reserved.
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from ..checkpoint.check import CheckpointError, state_dict_mismatches


@HOOKS.register_module()
class LoadFromCheckHook(Hook):
    """Refuse a ``load_from`` checkpoint that leaves most of the model's
    tensors at their initialisation (another architecture's weights), unless
    the config sets ``allow_partial_load=True``.

    ``tools/train.py`` registers it for a run that loads weights without
    resuming.

    Args:
        filename (str): The ``load_from`` checkpoint, for the message.
    """

    priority = 'VERY_HIGH'

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if runner.cfg.get('allow_partial_load', False):
            return
        model = runner.model.module if hasattr(runner.model, 'module') \
            else runner.model
        state_dict = checkpoint.get('state_dict', checkpoint)
        mismatched, missing, unexpected = state_dict_mismatches(
            model, state_dict)
        total = len(model.state_dict())
        loaded = total - len(missing) - len(mismatched)
        if total and loaded * 2 < total:
            raise CheckpointError(
                f'load_from {self.filename} loads only {loaded} of the '
                f'model\'s {total} tensors ({len(missing)} missing from it, '
                f'{len(mismatched)} of another shape; {len(unexpected)} of '
                'its entries are not in the model): most of the model '
                'would train from its initialisation. Is it a checkpoint of '
                'another architecture? If partial loading is intended (a '
                'backbone only ...), set allow_partial_load=True in the '
                'config (--cfg-options allow_partial_load=True).')
