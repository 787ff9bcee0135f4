# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Any, List, Optional

from mmengine.model import MMDistributedDataParallel
from mmpretrain.registry import MODEL_WRAPPERS
from torch import nn


@MODEL_WRAPPERS.register_module()
class DeviceAwareDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` that also runs on CPU processes.

    mmengine's runner always passes ``device_ids=[LOCAL_RANK]`` to the DDP
    wrapper. That is right for one GPU per process, but
    :class:`torch.nn.parallel.DistributedDataParallel` rejects ``device_ids``
    for a module that lives on the CPU (gloo backend). This wrapper keeps
    ``device_ids`` when the module's parameters are on a CUDA device and
    drops it otherwise, so the same config trains on GPUs (nccl) and on a
    machine without one (gloo).

    Args:
        module (nn.Module): The model to wrap, already on its device.
        device_ids (list[int], optional): Passed on for CUDA modules only.
        **kwargs: Other arguments of ``MMDistributedDataParallel``
            (``find_unused_parameters``, ``broadcast_buffers`` ...).
    """

    def __init__(self,
                 module: nn.Module,
                 device_ids: Optional[List[int]] = None,
                 **kwargs: Any) -> None:
        param = next(module.parameters(), None)
        on_cuda = param is not None and param.device.type == 'cuda'
        if not on_cuda:
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)
