# Copyright (c) shike-mm contributors. All rights reserved.
"""Allow-list the globals that mmengine checkpoints contain.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: it refuses
to unpickle any class that is not explicitly allowed. mmengine (0.10.x) calls
``torch.load`` without ``weights_only`` and stores more than tensors in its
checkpoints: the ``message_hub`` state holds
:class:`mmengine.logging.HistoryBuffer` objects whose data are numpy arrays,
and runtime information may hold numpy scalars. Resuming therefore dies with
``Unsupported global: mmengine.logging.history_buffer.HistoryBuffer``.

Rather than turning the safety check off (``weights_only=False`` would run
arbitrary pickled code from any checkpoint file), we add exactly the globals
that these checkpoints need to torch's allow-list. Everything else is still
rejected.
"""
from typing import List

import numpy as np
import torch

_REGISTERED = False


def _numpy_globals() -> List[object]:
    """Numpy classes and functions used when pickling arrays and scalars."""
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    globals_: List[object] = [_reconstruct, scalar, np.ndarray, np.dtype]
    # The dtype classes (``numpy.dtypes.Float64DType`` ...) are pickled by
    # reference since numpy 1.25; allow every concrete one.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            obj = getattr(dtypes, name)
            if isinstance(obj, type) and issubclass(obj, np.dtype):
                globals_.append(obj)
    return globals_


def checkpoint_safe_globals() -> List[object]:
    """The globals that an mmengine training checkpoint may reference.

    Returns:
        list: classes and functions to pass to
        ``torch.serialization.add_safe_globals``.
    """
    from mmengine.logging import HistoryBuffer

    # A HistoryBuffer pickles its table of statistics methods as
    # ``getattr(HistoryBuffer, 'mean')`` and so on, hence ``getattr``. The
    # weights-only unpickler still refuses to *call* anything that is not
    # itself allow-listed, so an attribute fetched this way cannot run.
    return [HistoryBuffer, getattr] + _numpy_globals()


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only``
    allow-list. Idempotent; a no-op on torch versions without the
    allow-list (< 2.4), which do not load with ``weights_only`` by default.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
    _REGISTERED = True
