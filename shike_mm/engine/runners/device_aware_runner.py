# Copyright (c) shike-mm contributors. All rights reserved.
import datetime
import os
from typing import Dict, Optional

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed
from mmengine.runner import Runner
from mmpretrain.registry import RUNNERS
from torch import nn


@RUNNERS.register_module()
class DeviceAwareRunner(Runner):
    """An mmengine :class:`Runner` whose distributed set-up follows the
    hardware it finds.

    Two things in mmengine 0.10 assume one CUDA device per process:

    - the ``pytorch`` launcher calls ``torch.cuda.set_device(LOCAL_RANK)``
      unconditionally and initialises the backend named in
      ``env_cfg.dist_cfg`` (``nccl`` in mmpretrain's default runtime);
    - the default DDP wrapper is built with ``device_ids=[LOCAL_RANK]``.

    On a machine without a usable GPU this runner initialises the process
    group itself with the ``gloo`` backend (no ``set_device``) and, unless
    the config names its own ``model_wrapper_cfg``, wraps the model in
    :class:`DeviceAwareDistributedDataParallel`, which drops ``device_ids``
    for CPU modules. With GPUs nothing changes: the configured backend
    (``nccl``) and mmengine's own code path are used.

    Everything else is mmengine's :class:`Runner`; configs select it with
    ``runner_type = 'DeviceAwareRunner'`` (the project's default runtime
    does) and ``tools/train.py`` uses it when a config names no runner.
    """

    def setup_env(self, env_cfg: Dict) -> None:
        """Initialise a gloo process group on CPU-only machines, then run
        mmengine's environment set-up (which skips ``init_dist`` once a
        process group exists).

        Args:
            env_cfg (dict): The config's ``env_cfg``.
        """
        if (self.distributed and not is_distributed()
                and not torch.cuda.is_available()):
            if self.launcher != 'pytorch':
                raise RuntimeError(
                    f'launcher={self.launcher!r} without a GPU is not '
                    "supported; use launcher='pytorch' (torchrun, "
                    'tools/dist_train.sh) for CPU-only distributed runs.')
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            backend = dist_cfg.pop('backend', 'gloo')
            if backend != 'gloo':
                # The config asks for a GPU backend but there is no GPU:
                # say so rather than failing inside torch.cuda.
                print(f'[shike_mm] no CUDA device: using the gloo backend '
                      f'instead of {backend!r}.', flush=True)
            timeout = dist_cfg.pop('timeout', None)
            if timeout is not None:
                dist_cfg['timeout'] = datetime.timedelta(seconds=timeout)
            dist_cfg.pop('init_backend', None)
            torch_dist.init_process_group(
                backend='gloo',
                rank=int(os.environ['RANK']),
                world_size=int(os.environ['WORLD_SIZE']),
                **dist_cfg)
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
            model_wrapper_cfg = dict(
                # Scoped name: mmengine looks wrappers up in its own root
                # registry, which reaches mmpretrain's only by scope.
                type='mmpretrain.DeviceAwareDistributedDataParallel',
                broadcast_buffers=False,
                find_unused_parameters=self.cfg.get('find_unused_parameters',
                                                    False))
        return super().wrap_model(model_wrapper_cfg, model)
