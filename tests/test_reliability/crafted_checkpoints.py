# Copyright (c) shike-mm contributors. All rights reserved.
"""Hand-made hostile and odd checkpoints, built only from globals that the
allow-list admitted before the fix (``getattr``, ``HistoryBuffer``, numpy
reconstruction), the way an attacker would build them."""
import copyreg
from collections import OrderedDict

import numpy as np
import torch


class PickledGetattr:
    """Pickles as the call ``getattr(obj, name)``."""

    def __init__(self, obj, name):
        self.obj, self.name = obj, name

    def __reduce__(self):
        return getattr, (self.obj, self.name)


class PickledHistoryBuffer:
    """Pickles as a :class:`HistoryBuffer` (NEWOBJ + BUILD) with any state."""

    def __init__(self, state):
        self.state = state

    @property
    def __class__(self):  # pickle checks the class NEWOBJ creates
        from mmengine.logging import HistoryBuffer
        return HistoryBuffer

    def __reduce__(self):
        from mmengine.logging import HistoryBuffer
        return copyreg.__newobj__, (HistoryBuffer, ), self.state


def buffer_state(**extra):
    state = dict(max_length=10, _log_history=np.array([0.5]),
                 _count_history=np.array([1]))
    state.update(extra)
    return state


def eval_payload(marker):
    """``(eval, (code, ))`` reached through ``getattr`` alone: the builtins
    module is ``getattr.__self__``. ``code`` creates ``marker``."""
    builtins_module = PickledGetattr(getattr, '__self__')
    eval_ = PickledGetattr(builtins_module, 'eval')
    code = f"__import__('pathlib').Path({str(marker)!r}).touch()"
    return eval_, (code, )


def code_running_buffer(marker):
    """A HistoryBuffer whose own ``__reduce_ex__`` (an attribute of the
    instance) is the bound ``dict.get`` of ``{4: (eval, (code, ))}``:
    ``copy.deepcopy`` calls ``__reduce_ex__(4)`` and then ``eval(code)``."""
    table = {4: eval_payload(marker)}
    return PickledHistoryBuffer(
        buffer_state(__reduce_ex__=PickledGetattr(table, 'get')))


def with_message_hub_entry(checkpoint, where, key, value):
    """A copy of ``checkpoint`` with ``message_hub[where][key] = value``."""
    out = dict(checkpoint)
    hub = {k: (OrderedDict(v) if isinstance(v, OrderedDict) else dict(v))
           for k, v in checkpoint['message_hub'].items()}
    hub[where][key] = value
    out['message_hub'] = hub
    return out


def save(obj, path):
    torch.save(obj, path)
    return path


class PickledReconstruct:
    """Pickles as numpy's ``_reconstruct(ndarray, shape, 'b')`` with no
    state: an array of ``shape`` allocated from nothing in the file."""

    def __init__(self, shape):
        self.shape = shape

    def __reduce__(self):
        from numpy._core.multiarray import _reconstruct
        return _reconstruct, (np.ndarray, self.shape, b'b')


def new_array_pickle(length):
    """Pickle bytes of ``ndarray.__new__(ndarray, (length, ))`` (NEWOBJ),
    written by hand: no object pickles itself this way."""
    import pickle
    import struct
    return (pickle.PROTO + b'\x02' + pickle.GLOBAL + b'numpy\nndarray\n'
            + pickle.BININT + struct.pack('<i', length) + pickle.TUPLE1
            + pickle.TUPLE1 + pickle.NEWOBJ + pickle.STOP)


class PickledEmptyScalar:
    """Pickles as numpy's ``scalar(dtype)`` without data: a void scalar of
    ``nbytes`` bytes."""

    def __init__(self, nbytes):
        self.nbytes = nbytes

    def __reduce__(self):
        from numpy._core.multiarray import scalar
        return scalar, (np.dtype(f'V{self.nbytes}'), )
