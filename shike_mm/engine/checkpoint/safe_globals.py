# Copyright (c) shike-mm contributors. All rights reserved.
"""Allow-list exactly what mmengine checkpoints contain, and nothing that
can reach code.

Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: it refuses
to unpickle any class or call any function that is not explicitly allowed.
mmengine (0.10.x) calls ``torch.load`` without ``weights_only`` and stores
more than tensors in its checkpoints: the ``message_hub`` state holds
:class:`mmengine.logging.HistoryBuffer` objects whose data are numpy arrays,
and runtime information may hold numpy scalars. Resuming therefore dies with
``Unsupported global: mmengine.logging.history_buffer.HistoryBuffer``.

Rather than turning the safety check off (``weights_only=False`` runs
arbitrary pickled code from any checkpoint file), this module adds to
torch's allow-list:

- the numpy reconstruction functions and classes (``_reconstruct``,
  ``scalar``, ``ndarray``, ``dtype`` and the concrete dtype classes), also
  under their numpy 1.x module paths;
- :class:`HistoryBuffer`, whose ``__setstate__`` is replaced by
  :func:`checked_history_buffer_setstate`: a loaded buffer may hold its two
  histories (1-D numeric arrays of equal length), its ``max_length`` and a
  table naming the registered statistics methods, nothing else;
- in place of ``getattr`` (stock mmengine pickles the statistics table as
  ``getattr(HistoryBuffer, 'mean')`` ...) the function
  :func:`history_buffer_method`, registered under the name
  ``builtins.getattr``: it returns a registered statistics method of
  :class:`HistoryBuffer` and refuses every other attribute of every other
  object. Real ``getattr`` would let a checkpoint walk from any allowed
  object to ``builtins.eval``;
- in place of ``bytes`` (protocol-2 pickles write an empty ``bytes`` object,
  as in the data of ``np.array([])``, as the call ``bytes()``) the function
  :func:`empty_bytes`, which builds only ``b''``.

So a checkpoint can reach no callable beyond these reconstruction functions;
everything else is refused while unpickling.
"""
import pickle
import threading
from contextlib import contextmanager
from typing import List

import numpy as np
import torch

_REGISTERED = False

#: What a pickled HistoryBuffer holds (``statistics_methods`` is added by
#: ``HistoryBuffer.__getstate__``).
HISTORY_BUFFER_STATE = ('max_length', '_log_history', '_count_history')


def _history_buffer_class():
    from mmengine.logging import HistoryBuffer
    return HistoryBuffer


def history_buffer_method(obj, name):
    """The stand-in for ``getattr`` in checkpoints: ``getattr(HistoryBuffer,
    name)`` for a registered statistics method ``name``, an error for
    anything else.

    Args:
        obj: Must be the :class:`HistoryBuffer` class itself.
        name (str): Name of a registered statistics method (``min``,
            ``max``, ``current``, ``mean`` or one added with
            ``HistoryBuffer.register_statistics``).

    Returns:
        Callable: The statistics method.
    """
    buffer_cls = _history_buffer_class()
    if obj is buffer_cls and type(name) is str:
        buffer_cls()._set_default_statistics()
        method = buffer_cls._statistics_methods.get(name)
        if method is not None and getattr(buffer_cls, name, None) is method:
            return method
    what = (f'attribute {name!r}' if type(name) is str else
            f'an attribute named by a {type(name).__name__}')
    raise pickle.UnpicklingError(
        f'the checkpoint asks for {what} of a {type(obj).__name__} object '
        '(pickled getattr); only the statistics methods of mmengine\'s '
        'HistoryBuffer may be fetched this way')


def empty_bytes(*args):
    """The stand-in for ``bytes`` in checkpoints: ``bytes()`` is how
    protocol 2 pickles ``b''``; every other call is refused."""
    if args:
        raise pickle.UnpicklingError(
            f'the checkpoint calls bytes() with {len(args)} argument(s); '
            "only bytes() (the empty b'') is allowed")
    return b''


def _refuse_state(message: str):
    raise pickle.UnpicklingError(f'HistoryBuffer in the checkpoint: '
                                 f'{message}')


def checked_history_buffer_setstate(self, state) -> None:
    """``HistoryBuffer.__setstate__`` that checks what it is given.

    mmengine's own version puts every key of the pickled state into the
    instance ``__dict__`` and merges the pickled statistics table into the
    class-wide one, so a checkpoint could give a buffer its own
    ``__reduce_ex__`` or ``__deepcopy__`` (called later by
    ``copy.deepcopy``) or replace ``mean`` for every buffer. Here the state
    must be exactly ``max_length`` (a positive int), ``_log_history`` and
    ``_count_history`` (1-D numeric numpy arrays of equal length, at most
    ``max_length``) and optionally ``statistics_methods``, whose entries must
    be the methods already registered under those names.

    Args:
        state (dict): The unpickled state.

    Raises:
        pickle.UnpicklingError: naming what does not fit.
    """
    if type(state) is not dict:
        _refuse_state(f'state is a {type(state).__name__}, expected a dict')
    keys = set(state)
    extra = keys - set(HISTORY_BUFFER_STATE) - {'statistics_methods'}
    if extra:
        names = sorted(repr(k) if type(k) is str else type(k).__name__
                       for k in extra)
        _refuse_state(f'unexpected attribute(s) {", ".join(names)}; a '
                      f'HistoryBuffer holds only {HISTORY_BUFFER_STATE}')
    missing = [k for k in HISTORY_BUFFER_STATE if k not in keys]
    if missing:
        _refuse_state(f'missing attribute(s) {missing}')
    max_length = state['max_length']
    if type(max_length) is not int or max_length < 1:
        _refuse_state(f'max_length must be a positive int, got a '
                      f'{type(max_length).__name__}')
    histories = [state['_log_history'], state['_count_history']]
    for key, value in zip(HISTORY_BUFFER_STATE[1:], histories):
        if (type(value) is not np.ndarray or value.ndim != 1
                or value.dtype.kind not in 'biuf'):
            _refuse_state(f'{key} must be a 1-D numeric numpy array, got '
                          f'{type(value).__name__}')
    if len(histories[0]) != len(histories[1]):
        _refuse_state(f'_log_history has {len(histories[0])} entries but '
                      f'_count_history {len(histories[1])}')
    methods = state.get('statistics_methods', {})
    if type(methods) is not dict:
        _refuse_state('statistics_methods must be a dict')
    self._set_default_statistics()
    registered = type(self)._statistics_methods
    for name, method in methods.items():
        if type(name) is not str or registered.get(name) is not method:
            _refuse_state(f'statistics method {name!r} is not the '
                          'registered HistoryBuffer method of that name')
    self.__dict__.update(
        max_length=max_length, _log_history=histories[0],
        _count_history=histories[1])


#: What numpy constructors may allocate while unpickling when the size of
#: the file is not known (a plain ``torch.load`` in user code);
#: :func:`shike_mm.engine.checkpoint.check.load_checkpoint_file` allows the
#: size of the file instead.
DEFAULT_ALLOCATION_LIMIT = 64 * 2**20
_budget = threading.local()


@contextmanager
def allocation_budget(nbytes: int, source: str):
    """Bound what :func:`checked_reconstruct` and :func:`checked_scalar`
    may allocate, together, while unpickling in this thread.

    Args:
        nbytes (int): The budget in bytes.
        source (str): Named in the error (``'the 1200-byte file x.pth'``).
    """
    previous = getattr(_budget, 'state', None)
    _budget.state = [nbytes, source]
    try:
        yield
    finally:
        _budget.state = previous


def _charge(nbytes: int, what: str) -> None:
    state = getattr(_budget, 'state', None)
    if state is None:
        state = [DEFAULT_ALLOCATION_LIMIT, 'the default limit']
    if nbytes > state[0]:
        raise pickle.UnpicklingError(
            f'the checkpoint asks to allocate {nbytes} bytes for {what} '
            f'before any data is read; loading may allocate at most '
            f'{state[0]} more bytes this way ({state[1]}). Such an object '
            'is not built from data in the file, so the file is refused')
    state[0] -= nbytes


class NdarrayName:
    """What the name ``numpy.ndarray`` resolves to in a checkpoint.

    numpy pickles an array as ``_reconstruct(numpy.ndarray, (0,), b'b')``
    followed by its state; :func:`checked_reconstruct` maps this class to
    :class:`numpy.ndarray`. Building it directly (``NEWOBJ``, which
    would allocate any shape the file names) is refused.
    """

    def __new__(cls, *args, **kwargs):
        raise pickle.UnpicklingError(
            'the checkpoint creates a numpy.ndarray directly (NEWOBJ); '
            'numpy writes arrays with _reconstruct only')


def checked_reconstruct(subtype, shape, dtype):
    """numpy's ``_reconstruct`` for plain arrays, refusing allocations
    beyond the budget (:func:`allocation_budget`)."""
    if subtype is not NdarrayName and subtype is not np.ndarray:
        raise pickle.UnpicklingError(
            f'the checkpoint reconstructs a {subtype!r}; only '
            'numpy.ndarray is allowed')
    if type(shape) is not tuple or not all(
            type(n) is int and n >= 0 for n in shape):
        raise pickle.UnpicklingError(
            f'numpy array shape {shape!r:.60} is not a tuple of '
            'non-negative ints')
    nbytes = int(np.prod(shape, dtype=object)) * np.dtype(dtype).itemsize
    _charge(nbytes, f'a numpy array of shape {shape}')
    return _numpy_functions()[0](np.ndarray, shape, dtype)


def checked_scalar(dtype, *args):
    """numpy's ``scalar``; without data it allocates ``dtype.itemsize``
    bytes, which count against the budget."""
    if not args and isinstance(dtype, np.dtype):
        _charge(dtype.itemsize, f'a numpy scalar of dtype {dtype}')
    return _numpy_functions()[1](dtype, *args)


def _numpy_functions():
    try:  # numpy >= 2
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    return _reconstruct, scalar


def _numpy_globals() -> List[object]:
    """Numpy classes and (checked) functions used when pickling arrays and
    scalars, under their numpy 1.x and 2.x module paths (``numpy.core``
    became ``numpy._core`` in numpy 2)."""
    # ``numpy.ndarray`` resolves to NdarrayName. ndarray itself must be in
    # the allow-list for BUILD (``ndarray.__setstate__``) to be allowed;
    # it is registered under a name containing a newline, which the
    # GLOBAL opcode (one name per line) can never produce.
    globals_: List[object] = [(NdarrayName, 'numpy.ndarray'),
                              (np.ndarray, 'numpy.ndarray\n(state only)'),
                              np.dtype]
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        globals_.append((checked_reconstruct, f'{module}._reconstruct'))
        globals_.append((checked_scalar, f'{module}.scalar'))
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
        list: classes, functions and ``(function, 'module.name')`` pairs to
        pass to ``torch.serialization.add_safe_globals``.
    """
    return [_history_buffer_class(),
            (history_buffer_method, 'builtins.getattr'),
            (empty_bytes, 'builtins.bytes')] + _numpy_globals()


def register_checkpoint_safe_globals() -> None:
    """Add :func:`checkpoint_safe_globals` to torch's ``weights_only``
    allow-list and install :func:`checked_history_buffer_setstate`.
    Idempotent; the allow-list part is a no-op on torch versions without it
    (< 2.4), which do not load with ``weights_only`` by default.
    """
    global _REGISTERED
    if _REGISTERED:
        return
    _history_buffer_class().__setstate__ = checked_history_buffer_setstate
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is not None:
        add_safe_globals(checkpoint_safe_globals())
    _REGISTERED = True
