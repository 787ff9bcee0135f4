# Copyright (c) shike-mm contributors. All rights reserved.
"""Checks on a checkpoint file's bytes before ``torch.load`` reads it.

``torch.load`` trusts the sizes a file declares: it inflates a compressed
zip record to the size named in the zip's central directory, and the
constructors that its weights-only unpickler allows (``bytearray(n)``, tensor
views whose strides revisit their storage, dtype conversions) allocate what
their arguments ask for. A file of a few megabytes can so ask for gigabytes.
:func:`check_checkpoint_archive` reads only the central directory and the
pickle's opcodes (both bounded by the file's size) and refuses, naming the
record or the key path:

- a file that is not a zip archive (the pre-1.6 format allocates storages
  of declared sizes before reading them); a damaged archive is left to
  ``torch.load``, whose zip reader refuses it without allocating;
- a compressed record (``torch.save`` writes every record stored), a record
  larger than the file, records that together are larger than the file;
- a storage whose record does not hold exactly the bytes the pickle asks for;
- a pickle nested deeper than :data:`MAX_PICKLE_STACK` (unpickling cost grows
  with the square of the depth);
- a call of an allowed constructor whose arguments ask to allocate more than
  the file could hold, or that is called on something a checkpoint never
  passes it (a tensor or array to iterate, a codec other than ``latin1``);
- a quantized, sparse, nested, meta or wrapper-subclass tensor: a training
  checkpoint holds dense tensors only.
"""
import os.path as osp
import pickletools
import warnings
import zipfile
from typing import Any, Dict, List, Optional, Tuple

#: Most items the pickle's stack may hold at once. ``pickle`` writes
#: containers in batches of 1000 items (two stack entries each for a dict),
#: so a real checkpoint stays near 2000 plus its nesting depth.
MAX_PICKLE_STACK = 10000

_MARK = object()

# torch's tensor rebuild functions: (index of size, index of stride) in the
# arguments, after the storage at index 0
_VIEW_REBUILDS = {
    'torch._utils._rebuild_tensor': 2,
    'torch._utils._rebuild_tensor_v2': 2,
    'torch._utils._rebuild_tensor_v3': 2,
}
_REFUSED_REBUILDS = {
    'torch._utils._rebuild_qtensor': 'a quantized tensor',
    'torch._utils._rebuild_sparse_tensor': 'a sparse tensor',
    'torch._utils._rebuild_nested_tensor': 'a nested tensor',
    'torch._utils._rebuild_meta_tensor_no_storage': 'a meta tensor',
    'torch._utils._rebuild_wrapper_subclass': 'a tensor subclass wrapper',
    'torch._utils._rebuild_device_tensor_from_numpy':
    'a tensor converted from a numpy array',
    'torch._utils._rebuild_device_tensor_from_cpu_tensor':
    'a tensor converted from another tensor',
}
# Constructors that iterate or copy their argument: given a tensor or an
# array (a view can repeat one element any number of times) they allocate
# per element; checkpoints pass them containers and literals only.
_ITERATING = ('builtins.set', 'builtins.frozenset', 'builtins.bytearray',
              'builtins.list', 'builtins.tuple', 'builtins.dict',
              'builtins.complex', 'collections.Counter',
              'collections.OrderedDict', 'torch.Size')


class ArchiveRefusal(ValueError):
    """The file's bytes ask for something a checkpoint never holds."""


class _DamagedArchive(Exception):
    """A zip archive whose central directory cannot be read."""


class _Value:
    """A value the scan cannot know: what built it and, for storages and
    tensors, how many bytes it holds."""

    __slots__ = ('kind', 'nbytes', 'itemsize')

    def __init__(self, kind: str, nbytes: int = 0, itemsize: int = 1):
        self.kind, self.nbytes, self.itemsize = kind, nbytes, itemsize


class _Global:
    __slots__ = ('name', )

    def __init__(self, name: str):
        self.name = name


_OTHER = _Value('object')


def _itemsize(storage_type: str) -> Optional[int]:
    """Bytes per element of a storage class named ``torch.FloatStorage``
    ..., ``None`` for a name torch does not know."""
    import torch
    module, _, name = storage_type.rpartition('.')
    if module != 'torch' or not name.endswith('Storage'):
        return None
    if name == 'UntypedStorage':
        return 1
    cls = getattr(torch, name, None)
    with warnings.catch_warnings():  # TypedStorage is deprecated
        warnings.simplefilter('ignore')
        dtype = getattr(cls, 'dtype', None)
    if not isinstance(dtype, torch.dtype):
        return None
    return torch._utils._element_size(dtype)


class _Refusal(Exception):
    """Raised inside the scan; the scan records the first and goes on, to
    learn where the refused value would have been put."""


def _hashable(key):
    try:
        hash(key)
    except TypeError:
        return f'<{_describe(key)}>'
    return key


def _key_path(root, target) -> str:
    """The keys and indices leading from ``root`` (the skeleton of dicts,
    lists and tuples the scan rebuilt) to ``target`` (``['meta']['x']``)."""
    seen = set()
    stack = [(root, '')]
    while stack:
        value, path = stack.pop()
        if value is target:
            return path or '(the top level)'
        if id(value) in seen:
            continue
        seen.add(id(value))
        if type(value) is dict:
            stack.extend((item, f'{path}[{key!r}]')
                         for key, item in value.items())
        elif type(value) in (list, tuple):
            stack.extend((item, f'{path}[{i}]')
                         for i, item in enumerate(value))
    return '(unknown)'


def _describe(value) -> str:
    if isinstance(value, _Value):
        return value.kind
    if isinstance(value, _Global):
        return value.name
    return type(value).__name__


class _PickleScan:
    """Walk a checkpoint pickle's opcodes with a model of the unpickler's
    stack that knows only literals, globals, containers and storages.

    Args:
        records (dict): Record name (``'data/0'``) to its size in bytes.
        budget (int): What views and constructors may ask for beyond the
            data stored in the file, together.
    """

    def __init__(self, records: Dict[str, int], budget: int):
        self.records, self.budget = records, budget
        self.refusal: Optional[Tuple[str, _Value]] = None
        self.stack: List[Any] = []
        self.memo: Dict[int, Any] = {}

    def refuse(self, message: str):
        raise _Refusal(message)

    def guarded(self, build, *args):
        """``build(*args)``; a refusal is recorded (the first one) and a
        marker takes the value's place."""
        try:
            return build(*args)
        except _Refusal as refusal:
            marker = _Value('refused value')
            if self.refusal is None:
                self.refusal = (str(refusal), marker)
            return marker

    def charge(self, nbytes: int, what: str) -> None:
        if nbytes > self.budget:
            self.refuse(
                f'{what} asks to allocate {nbytes} bytes that are not '
                f'stored in the file; loading may allocate at most '
                f'{max(self.budget, 0)} more bytes this way')
        self.budget -= nbytes

    def pop_mark(self) -> List[Any]:
        items = []
        while self.stack:
            item = self.stack.pop()
            if item is _MARK:
                items.reverse()
                return items
            items.append(item)
        raise ArchiveRefusal('data.pkl is malformed (an opcode needs a '
                             'MARK that is not there)')

    def pop(self, count: int = 1) -> List[Any]:
        if count > len(self.stack):
            raise ArchiveRefusal('data.pkl is malformed (stack underflow)')
        items = self.stack[len(self.stack) - count:]
        del self.stack[len(self.stack) - count:]
        return items

    def run(self, data: bytes) -> None:
        try:
            for op, arg, _ in pickletools.genops(data):
                self.step(op, arg)
                if len(self.stack) > MAX_PICKLE_STACK:
                    raise ArchiveRefusal(
                        f'data.pkl nests more than '
                        f'{MAX_PICKLE_STACK} values deep (a checkpoint '
                        'nests a few levels); unpickling it would take time '
                        'growing with the square of its depth')
        except ArchiveRefusal:
            raise
        except Exception as err:  # noqa: BLE001 ``genops`` on bad bytes
            if self.refusal is None:
                raise ArchiveRefusal(
                    f'data.pkl is not a readable pickle: {err}') from None
        if self.refusal is not None:
            message, marker = self.refusal
            where = _key_path(self.stack[0] if self.stack else None, marker)
            raise ArchiveRefusal(f'{message} (at key path {where} of '
                                 'data.pkl)')

    def step(self, op, arg) -> None:
        name = op.name
        stack = self.stack
        if name in ('STOP', 'PROTO', 'FRAME'):
            return  # STOP leaves the result for the key path search
        if name == 'MARK':
            stack.append(_MARK)
        elif name in ('BINUNICODE', 'SHORT_BINUNICODE', 'UNICODE',
                      'BINUNICODE8', 'BININT', 'BININT1', 'BININT2',
                      'LONG1', 'LONG4', 'INT', 'LONG', 'BINFLOAT', 'FLOAT',
                      'SHORT_BINSTRING', 'BINSTRING', 'STRING',
                      'BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8'):
            stack.append(arg)
        elif name in ('NEWTRUE', 'NEWFALSE', 'NONE'):
            stack.append({'NEWTRUE': True, 'NEWFALSE': False}.get(name))
        elif name == 'GLOBAL':
            module, _, attr = arg.partition(' ')
            if module == '__builtin__':
                module = 'builtins'
            stack.append(_Global(f'{module}.{attr}'))
        elif name == 'STACK_GLOBAL':
            module, attr = self.pop(2)
            stack.append(_Global(f'{module}.{attr}'))
        elif name in ('PUT', 'BINPUT', 'LONG_BINPUT'):
            if stack:
                self.memo[arg] = stack[-1]
        elif name == 'MEMOIZE':
            if stack:
                self.memo[len(self.memo)] = stack[-1]
        elif name in ('GET', 'BINGET', 'LONG_BINGET'):
            stack.append(self.memo.get(arg, _OTHER))
        elif name == 'EMPTY_TUPLE':
            stack.append(())
        elif name in ('TUPLE1', 'TUPLE2', 'TUPLE3'):
            stack.append(tuple(self.pop(int(name[-1]))))
        elif name == 'TUPLE':
            stack.append(tuple(self.pop_mark()))
        elif name == 'EMPTY_DICT':
            stack.append({})
        elif name == 'DICT':
            items = self.pop_mark()
            stack.append({_hashable(k): v
                          for k, v in zip(items[::2], items[1::2])})
        elif name == 'EMPTY_LIST':
            stack.append([])
        elif name == 'LIST':
            stack.append(self.pop_mark())
        elif name == 'BINPERSID':
            stack.append(self.guarded(self.storage, self.pop()[0]))
        elif name == 'REDUCE':
            func, args = self.pop(2)
            stack.append(self.guarded(self.call, func, args))
        else:
            self.generic(op)

    def generic(self, op) -> None:
        before = op.stack_before
        if op.name in ('APPEND', 'SETITEM', 'BUILD', 'APPENDS',
                       'SETITEMS', 'ADDITEMS'):
            # the container (or object) stays; what is added is consumed
            items = (self.pop_mark() if op.name.endswith('S')
                     else self.pop(len(before) - 1))
            if not self.stack:
                raise ArchiveRefusal('data.pkl is malformed (stack '
                                     'underflow)')
            target = self.stack[-1]
            if type(target) is list and op.name.startswith('APPEND'):
                target.extend(items)
            elif type(target) is dict and op.name.startswith('SETITEM'):
                target.update((_hashable(k), v)
                              for k, v in zip(items[::2], items[1::2]))
            return
        if pickletools.markobject in before:
            self.pop_mark()
            self.pop(before.index(pickletools.markobject))
        else:
            self.pop(len(before))
        for item in op.stack_after:
            self.stack.append(_MARK if item is pickletools.markobject
                              else _Value(op.name.lower()))

    def storage(self, pid) -> _Value:
        if not (type(pid) is tuple and len(pid) == 5
                and pid[0] == 'storage' and isinstance(pid[1], _Global)
                and type(pid[2]) is str and type(pid[4]) is int):
            self.refuse(f'a persistent id {pid!r:.80} is not a storage '
                        'reference as torch.save writes it')
        storage_type, key, numel = pid[1].name, pid[2], pid[4]
        itemsize = _itemsize(storage_type)
        if itemsize is None:
            self.refuse(f'storage {key!r} has the unknown type '
                        f'{storage_type}')
        record = f'data/{key}'
        size = self.records.get(record)
        if size is None:
            self.refuse(f'storage {key!r} has no record {record} in the '
                        'archive')
        if numel < 0 or numel * itemsize != size:
            self.refuse(
                f'storage {key!r} ({numel} elements of {itemsize} bytes, '
                f'{storage_type}) does not match its record {record} of '
                f'{size} bytes')
        return _Value('storage', size, itemsize)

    def call(self, func, args):
        if not isinstance(func, _Global) or type(args) is not tuple:
            self.refuse(f'a call of {_describe(func)} with '
                        f'{_describe(args)} arguments')
        for arg in args:  # a value built from a refused one stands for it
            if isinstance(arg, _Value) and arg.kind == 'refused value':
                return arg
        name = func.name
        if name == 'torch._tensor._rebuild_from_type_v2':
            if len(args) != 4 or not isinstance(args[0], _Global):
                self.refuse('_rebuild_from_type_v2 with unexpected '
                            'arguments')
            return self.call(args[0], args[2])
        if name in _REFUSED_REBUILDS:
            self.refuse(f'{_REFUSED_REBUILDS[name]} ({name}); a training '
                        'checkpoint holds dense tensors only')
        if name in _VIEW_REBUILDS:
            return self.view(name, args)
        if name in ('torch._utils._rebuild_parameter',
                    'torch._utils._rebuild_parameter_with_state'):
            return args[0] if args and isinstance(args[0], _Value) \
                else _OTHER
        if name in _ITERATING:
            return self.construct(name, args)
        if name == '_codecs.encode':
            if (len(args) != 2 or type(args[0]) is not str
                    or args[1] not in ('latin1', 'latin-1')):
                self.refuse(
                    f'_codecs.encode with {tuple(map(_describe, args))}; '
                    "checkpoints encode text to bytes with 'latin1' only")
            return _Value('bytes')
        return _Value(f'result of {name}')

    def construct(self, name: str, args: tuple):
        for arg in args:
            if isinstance(arg, _Value) and (
                    arg.kind in ('tensor', 'storage', 'refused value')
                    or arg.kind.startswith('result of')):
                self.refuse(f'{name}() of a {arg.kind}; checkpoints pass it '
                            'literals and containers only')
        if name == 'builtins.bytearray' and args:
            first = args[0]
            if type(first) is int:
                self.charge(first, f'bytearray({first})')
            elif not (type(first) in (bytes, list) or (
                    isinstance(first, _Value) and first.kind == 'bytes')):
                self.refuse(f'bytearray() of a {_describe(first)}; '
                            'checkpoints pass it bytes only')
        if name == 'torch.Size':
            return args[0] if args and type(args[0]) is tuple else _OTHER
        if name in ('collections.OrderedDict', 'collections.Counter',
                    'builtins.dict'):
            return dict(args[0]) if args and type(args[0]) is dict else {}
        return _Value(f'{name}()')

    def view(self, name: str, args: tuple) -> _Value:
        index = _VIEW_REBUILDS[name]
        if len(args) < index + 2 or not isinstance(args[0], _Value) or \
                args[0].kind != 'storage':
            self.refuse(f'{name} without a storage from the archive')
        storage, offset = args[0], args[1]
        size, stride = args[index], args[index + 1]
        if not (type(offset) is int and type(size) is tuple
                and type(stride) is tuple and len(size) == len(stride)
                and all(type(n) is int for n in size + stride)):
            self.refuse(f'{name} with a size or stride that is not a tuple '
                        'of ints')
        numel = 1
        for n in size:
            numel *= n
        nbytes = numel * storage.itemsize
        if nbytes > storage.nbytes:
            self.charge(nbytes - storage.nbytes,
                        f'a tensor of shape {size} on a storage of '
                        f'{storage.nbytes} bytes')
        return _Value('tensor', nbytes, storage.itemsize)


def _zip_records(filename: str, size: int) -> Tuple[str, Dict[str, int]]:
    """The archive's prefix and record sizes, checked against the file."""
    try:
        archive = zipfile.ZipFile(filename)
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        with open(filename, 'rb') as f:
            if f.read(4) == b'PK\x03\x04':
                # a damaged archive: torch's reader refuses it without
                # allocating, with the message of a truncated file
                raise _DamagedArchive() from None
        raise ArchiveRefusal(
            f'the {size}-byte file is not a zip archive as torch.save '
            f'writes ({err}); files in the format of torch < 1.6 are not '
            'read (they allocate storages of declared sizes before reading '
            'them): load and save it again with a current torch') from None
    with archive:
        infos = archive.infolist()
    total = 0
    records: Dict[str, int] = {}
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED:
            method = zipfile.compressor_names.get(info.compress_type,
                                                  info.compress_type)
            raise ArchiveRefusal(
                f'record {info.filename} is compressed '
                f'({method}, {info.compress_size} bytes declared to inflate '
                f'to {info.file_size}); torch.save writes every record '
                'stored, so another tool rewrote this file. Inflating it is '
                'refused: a compressed record can ask for any amount of '
                'memory')
        if info.file_size != info.compress_size or info.file_size > size:
            raise ArchiveRefusal(
                f'record {info.filename} declares '
                f'{info.file_size} bytes but the {size}-byte file stores '
                f'{info.compress_size} for it')
        total += info.file_size
        records[info.filename] = info.file_size
    if total > size:
        raise ArchiveRefusal(
            'its records declare {total} bytes together, more '
            f'than the {size}-byte file holds')
    pickles = [name for name in records if name.endswith('/data.pkl')
               or name == 'data.pkl']
    if len(pickles) != 1:
        raise ArchiveRefusal(f'the archive holds {len(pickles)} '
                             'data.pkl records; a checkpoint holds one')
    prefix = pickles[0][:-len('data.pkl')]
    return prefix, {name[len(prefix):]: n for name, n in records.items()
                    if name.startswith(prefix)}


def check_checkpoint_archive(filename: str) -> None:
    """Refuse a checkpoint file whose bytes ask for more memory than they
    hold, before ``torch.load`` reads it.

    Reads the zip's central directory and the pickle (``data.pkl``, at most
    the file's size); no record is inflated and no tensor is read.

    Args:
        filename (str): A local checkpoint file.

    Raises:
        ArchiveRefusal: naming the record, storage or key path.
    """
    size = osp.getsize(filename)
    try:
        prefix, records = _zip_records(filename, size)
    except _DamagedArchive:
        return  # left to torch, which names it truncated or corrupt
    with zipfile.ZipFile(filename) as archive:
        data = archive.read(prefix + 'data.pkl')
    _PickleScan(records, size).run(data)
