# Copyright (c) shike-mm contributors. All rights reserved.
"""What the environment block of a run without a CUDA device says.

mmengine 0.10 logs the runtime environment with ``env_cfg``'s entries and
``GPU number: <world size>`` (``Runner._log_env``, mmengine/runner/
runner.py, line 2375), whatever the device. On a machine without a usable
CUDA device :class:`~shike_mm.engine.runners.DeviceAwareRunner` records
the backend it uses (:func:`use_gloo_without_gpu`) and its logger rewrites
that one line (:class:`CpuEnvLogFilter`), so the block reads::

    dist_cfg: {'backend': 'gloo'}
    ...
    device: cpu (no CUDA device), processes: 1
"""
import logging
import re
from typing import Optional

import torch

GPU_NUMBER_LINE = re.compile(r'^(\s*)GPU number: (\d+)$', re.MULTILINE)


def use_gloo_without_gpu(env_cfg: Optional[dict]) -> bool:
    """Set ``env_cfg['dist_cfg']['backend']`` to ``'gloo'`` when there is
    no usable CUDA device (the backend a CPU-only distributed run uses;
    configs name ``nccl`` for GPUs).

    Args:
        env_cfg (dict, optional): An ``env_cfg``, changed in place; None
            is left alone.

    Returns:
        bool: Whether the machine has no CUDA device.
    """
    if torch.cuda.is_available():
        return False
    if env_cfg is not None:
        dist_cfg = env_cfg.get('dist_cfg', None) or {}
        dist_cfg['backend'] = 'gloo'
        env_cfg['dist_cfg'] = dist_cfg
    return True


class CpuEnvLogFilter(logging.Filter):
    """Rewrites the ``GPU number: N`` line of mmengine's environment block
    into ``device: cpu (no CUDA device), processes: N``; every other record
    passes unchanged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and 'GPU number:' in record.msg:
            record.msg = GPU_NUMBER_LINE.sub(
                r'\1device: cpu (no CUDA device), processes: \2', record.msg)
        return True
