# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Any, Dict, Optional, Union

from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS
from torch import nn

from ..checkpoint.loading import runner_load_checkpoint
from .distributed_setup import (default_wrapper_cfg, init_cpu_process_group,
                                needs_cpu_process_group)


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """An mmengine :class:`Runner` whose distributed set-up follows the
    hardware it finds and which reads checkpoints defensively.

    It overrides three public methods of mmengine's :class:`Runner`:

    - :meth:`setup_env` and :meth:`wrap_model` (:mod:`.distributed_setup`):
      a ``gloo`` process group on machines without a usable GPU, and
      :class:`DeviceAwareDistributedDataParallel` as the default wrapper
      (with GPUs, mmengine's own code path and the configured backend);
    - :meth:`load_checkpoint`, the one place where mmengine reads a
      checkpoint file (``load_from``, ``resume``, ``test``, ``val``), which
      goes through
      :func:`~shike_mm.engine.checkpoint.loading.runner_load_checkpoint`.

    Everything else lives in hooks and plain functions:
    :func:`~shike_mm.engine.work_dir_lock.work_dir_lock` (taken by
    ``tools/train.py`` before the runner writes into the work directory),
    :class:`~shike_mm.engine.hooks.CompileHook`,
    :class:`~shike_mm.engine.hooks.LossReductionCheckHook`. Configs select
    the runner with ``runner_type = 'DeviceAwareRunner'`` (the project's
    default runtime does) and ``tools/train.py`` uses it when a config
    names no runner.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise a gloo process group on CPU-only machines, then run
        mmengine's environment set-up (which skips ``init_dist`` once a
        process group exists).

        Args:
            env_cfg (dict): The config's ``env_cfg``.
        """
        if needs_cpu_process_group(self.distributed):
            init_cpu_process_group(self.launcher, env_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict],
                   model: nn.Module) -> nn.Module:
        """Use the device-aware DDP wrapper by default when distributed.

        Args:
            model_wrapper_cfg (dict, optional): The config's
                ``model_wrapper_cfg``; left untouched when given.
            model (nn.Module): The model to wrap.
        """
        if self.distributed and model_wrapper_cfg is None:
            model_wrapper_cfg = default_wrapper_cfg(
                self.cfg.get('find_unused_parameters', False))
        return super().wrap_model(model_wrapper_cfg, model)

    def load_checkpoint(self,
                        filename: str,
                        map_location: Union[str, Any] = 'cpu',
                        strict: bool = False,
                        revise_keys: list = [(r'^module.', '')]) -> dict:
        """Load a checkpoint into the model, checking it first
        (:func:`~shike_mm.engine.checkpoint.loading.runner_load_checkpoint`:
        weights-only reading, a structural check, weights that must fit
        when testing, validating or resuming, and on resume the config
        comparison).

        Args:
            filename (str): Path or URL of the checkpoint.
            map_location (str or callable): As for ``torch.load``.
            strict (bool): Passed to mmengine's loading of the weights
                when they need not fit exactly (``load_from``).
            revise_keys (list): ``(pattern, replacement)`` pairs applied to
                the checkpoint's keys.
        """
        return runner_load_checkpoint(self, filename, map_location, strict,
                                      revise_keys)
