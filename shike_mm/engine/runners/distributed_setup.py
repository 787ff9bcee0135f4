# Copyright (c) shike-mm contributors. All rights reserved.
"""Distributed set-up that follows the hardware it finds.

Two things in mmengine 0.10 assume one CUDA device per process:

- the ``pytorch`` launcher calls ``torch.cuda.set_device(LOCAL_RANK)``
  unconditionally and initialises the backend named in
  ``env_cfg.dist_cfg`` (``nccl`` in mmpretrain's default runtime);
- the default DDP wrapper is built with ``device_ids=[LOCAL_RANK]``.

On a machine without a usable GPU, :func:`init_cpu_process_group`
initialises the process group with the ``gloo`` backend (no
``set_device``) and :func:`default_wrapper_cfg` names
:class:`DeviceAwareDistributedDataParallel`, which drops ``device_ids``
for CPU modules. With GPUs nothing changes.
"""
import atexit
import datetime
import os
from typing import Dict

import torch
import torch.distributed as torch_dist
from mmengine.dist import is_distributed


def destroy_process_group() -> None:
    """Destroy the default process group if there is one."""
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.destroy_process_group()


def finish_distributed() -> None:
    """End a distributed run: wait for every rank, then destroy the default
    process group (no-op without one).

    PyTorch asks for ``destroy_process_group`` near the end of ``main()``,
    once per process, while communication is still possible; left to the
    ``atexit`` fall-back or to interpreter shutdown, a rank whose peers
    have already gone can abort in gloo's threads ("terminate called
    without an active exception") after its work is saved, and the
    launcher then reports the whole run as failed.
    """
    if torch_dist.is_available() and torch_dist.is_initialized():
        torch_dist.barrier()
        torch_dist.destroy_process_group()


def needs_cpu_process_group(distributed: bool) -> bool:
    """Whether a distributed run must set up its own gloo group: it is
    distributed, no group exists yet and there is no CUDA device."""
    return (distributed and not is_distributed()
            and not torch.cuda.is_available())


def init_cpu_process_group(launcher: str, env_cfg: Dict) -> None:
    """Initialise a ``gloo`` process group from torchrun's environment.

    Args:
        launcher (str): The runner's launcher; only ``'pytorch'`` is
            supported without a GPU.
        env_cfg (dict): The config's ``env_cfg``; its ``dist_cfg`` gives
            the keyword arguments (``timeout`` in seconds), its backend is
            replaced by ``gloo``.
    """
    if launcher != 'pytorch':
        raise RuntimeError(
            f'launcher={launcher!r} without a GPU is not '
            "supported; use launcher='pytorch' (torchrun, "
            'tools/dist_train.sh) for CPU-only distributed runs.')
    dist_cfg = dict(env_cfg.get('dist_cfg', {}))
    backend = dist_cfg.pop('backend', 'gloo')
    if backend != 'gloo':
        # The config asks for a GPU backend but there is no GPU: say so
        # rather than failing inside torch.cuda.
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
    # The tools end runs with finish_distributed(); this tears the group
    # down before the interpreter does when a script does not (or fails).
    atexit.register(destroy_process_group)


def default_wrapper_cfg(find_unused_parameters: bool = False) -> Dict:
    """The model wrapper used when a distributed config names none.

    Args:
        find_unused_parameters (bool): Passed to DDP.

    Returns:
        dict: A ``model_wrapper_cfg`` for
        :class:`DeviceAwareDistributedDataParallel`.
    """
    return dict(
        # Scoped name: mmengine looks wrappers up in its own root registry,
        # which reaches mmpretrain's only by scope.
        type='mmpretrain.DeviceAwareDistributedDataParallel',
        broadcast_buffers=False,
        find_unused_parameters=find_unused_parameters)
