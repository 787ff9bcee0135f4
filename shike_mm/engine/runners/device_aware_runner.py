# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Any, Dict, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS
from torch import nn

from ..checkpoint.loading import runner_load_checkpoint
from .cpu_env_log import CpuEnvLogFilter, use_gloo_without_gpu
from .distributed_setup import (default_wrapper_cfg, init_cpu_process_group,
                                needs_cpu_process_group)


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """An mmengine :class:`Runner` whose distributed set-up follows the
    hardware it finds and which reads checkpoints defensively.

    It overrides four public methods of mmengine's :class:`Runner`:

    - :meth:`setup_env` and :meth:`wrap_model` (:mod:`.distributed_setup`):
      a ``gloo`` process group on machines without a usable GPU, and
      :class:`DeviceAwareDistributedDataParallel` as the default wrapper
      (with GPUs, mmengine's own code path and the configured backend);
    - :meth:`build_logger` (:mod:`.cpu_env_log`): without a GPU, the
      log's environment block says ``device: cpu`` instead of mmengine's
      ``GPU number`` (and :meth:`setup_env` records ``gloo``, not the
      config's ``nccl``, in the logged ``env_cfg`` and config);
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

        Without a usable CUDA device, the runner's copies of ``env_cfg``
        (the one logged in the environment block and ``self.cfg``'s, which
        the log, the work directory's config file and the checkpoints
        hold) name the backend the run uses, ``gloo``.

        Args:
            env_cfg (dict): The runner's ``env_cfg`` (``Runner.from_cfg``
                passes a copy of the config's).
        """
        if use_gloo_without_gpu(env_cfg):
            use_gloo_without_gpu(self.cfg.get('env_cfg', None))
        if needs_cpu_process_group(self.distributed):
            init_cpu_process_group(self.launcher, env_cfg)
        super().setup_env(env_cfg)

    def build_logger(self,
                     log_level: Union[int, str] = 'INFO',
                     log_file: Optional[str] = None,
                     **kwargs) -> MMLogger:
        """mmengine's logger; without a usable CUDA device it carries a
        :class:`~.cpu_env_log.CpuEnvLogFilter`, so the environment block
        says ``device: cpu`` instead of ``GPU number``.

        Args:
            log_level (int or str): The log level of the handlers.
            log_file (str, optional): The log file; by default in the
                run's log directory.
            **kwargs: Passed to :class:`MMLogger`.
        """
        logger = super().build_logger(log_level, log_file, **kwargs)
        if (not torch.cuda.is_available() and not any(
                isinstance(f, CpuEnvLogFilter) for f in logger.filters)):
            logger.addFilter(CpuEnvLogFilter())
        return logger

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
