# Copyright (c) shike-mm contributors. All rights reserved.
"""Checks on a loaded checkpoint before anything copies, calls or trusts it.

- :func:`load_checkpoint_file`: ``torch.load`` with ``weights_only=True``
  (explicitly, so no environment variable can turn it off) and an error
  that says why a file was refused without advising to turn the check off;
- :func:`check_checkpoint_structure`: the loaded object is plain data
  (dicts, lists, numbers, strings, tensors, numpy arrays and scalars) with
  :class:`HistoryBuffer` objects only where mmengine puts them;
- :func:`state_dict_mismatches`: which tensors do not fit a model;
- :func:`config_from_text`: the config a checkpoint was trained with,
  read from its text without running it.
"""
import ast
import os.path as osp
import pickle
import re
import struct
import zipfile
from collections import Counter, OrderedDict
from typing import Any, Dict, List, Tuple

import numpy as np
import torch

from .archive import ArchiveRefusal, check_checkpoint_archive
from .safe_globals import HISTORY_BUFFER_STATE, allocation_budget


class CheckpointError(RuntimeError):
    """A checkpoint was refused or does not fit the run."""


def _reason(message: str) -> str:
    """The unpickler's own reason from torch's wrapped message, without
    torch's advice to load with the safety check off."""
    reason = message.split('WeightsUnpickler error:')[-1]
    reason = reason.split('Check the documentation of torch.load')[0]
    reason = reason.split('Please use `torch.serialization.add_safe_glob')[0]
    lines = [line.strip() for line in reason.splitlines()
             if line.strip() and 'weights_only' not in line]
    return ' '.join(lines) or 'it holds objects other than plain data'


def load_checkpoint_file(filename: str, map_location='cpu') -> Any:
    """Load a checkpoint with torch's weights-only unpickler.

    Local files are read with ``torch.load(..., weights_only=True)``; other
    sources (URLs, ``open-mmlab://`` ...) go through mmengine's loader,
    which uses torch's default (weights-only since torch 2.6).

    Args:
        filename (str): Path or URL of the checkpoint.
        map_location: As for ``torch.load``.

    Raises:
        FileNotFoundError: for a local path that does not exist.
        CheckpointError: when the unpickler refuses the file.
    """
    from mmengine.runner import CheckpointLoader
    local = '://' not in str(filename)
    if local:
        check_checkpoint_path(filename)
        try:
            check_checkpoint_archive(filename)
        except ArchiveRefusal as err:
            raise CheckpointError(
                f'refused to load checkpoint {filename}: {err}') from None
    try:
        if local:
            # What numpy constructors may allocate before reading data is
            # bounded by what the file can hold.
            size = osp.getsize(filename)
            with allocation_budget(size, f'the {size}-byte file'):
                return torch.load(
                    filename, map_location=map_location, weights_only=True)
        return CheckpointLoader.load_checkpoint(
            filename, map_location=map_location)
    except pickle.UnpicklingError as err:
        raise CheckpointError(
            f'refused to load checkpoint {filename}: {_reason(str(err))}. '
            'shike-mm loads checkpoints as data only (tensors, numbers, '
            'strings, numpy arrays, mmengine HistoryBuffers); this file '
            'needs something else, which could run code. Use a checkpoint '
            'written by mmengine / shike-mm training.') from None
    except (RuntimeError, EOFError, IndexError, ValueError,
            zipfile.BadZipFile, struct.error) as err:
        if not local or (type(err) is RuntimeError and not any(
                word in str(err) for word in ('PytorchStreamReader',
                                              'zip', 'EOF'))):
            raise
        size = osp.getsize(filename)
        raise CheckpointError(
            f'{filename} ({size} bytes) is not a readable checkpoint: it is '
            'truncated or corrupt (an interrupted copy or save?). torch '
            f'says: {str(err).strip().splitlines()[0][:200]}') from None


def check_checkpoint_path(filename: str) -> None:
    """Refuse a local checkpoint path that cannot hold a checkpoint.

    Args:
        filename (str): The path.

    Raises:
        FileNotFoundError: when nothing exists at ``filename``.
        CheckpointError: for a directory, a device, a FIFO or another file
            that is not a regular file, and for an empty (0-byte) file.
    """
    if osp.isdir(filename):
        raise CheckpointError(
            f'checkpoint {filename} is a directory, not a checkpoint file; '
            'name a .pth file in it')
    if not osp.exists(filename):
        raise FileNotFoundError(f'checkpoint file not found: {filename}')
    if not osp.isfile(filename):
        raise CheckpointError(
            f'checkpoint {filename} is not a regular file (a device, FIFO '
            'or socket); name a .pth file')
    if osp.getsize(filename) == 0:
        raise CheckpointError(
            f'checkpoint {filename} is empty (0 bytes): the save or copy '
            'that wrote it was interrupted')


_LEAVES = (type(None), bool, int, float, complex, str, bytes, bytearray,
           torch.device, torch.dtype, torch.Size)
# Counter: the milestones of mmengine's MultiStepLR in ``param_schedulers``
_CONTAINERS = (dict, OrderedDict, Counter, list, tuple, set)


def _instance_attributes(value) -> Dict[str, Any]:
    try:
        return object.__getattribute__(value, '__dict__')
    except AttributeError:
        return {}


def _check_leaf(value, path: str, filename: str) -> None:
    if type(value) in _LEAVES:
        return
    if type(value) in (torch.Tensor, torch.nn.Parameter):
        if value._backward_hooks:
            raise CheckpointError(
                f'{filename}: {path} carries backward hooks')
    elif type(value) is np.ndarray or isinstance(value, np.generic):
        if value.dtype.hasobject:
            raise CheckpointError(
                f'{filename}: {path} is a numpy object array; checkpoints '
                'may hold numeric numpy data only')
    elif not isinstance(value, np.dtype):
        raise CheckpointError(
            f'{filename}: {path} is a {type(value).__module__}.'
            f'{type(value).__qualname__}; a checkpoint may hold only plain '
            'data there (dicts, lists, numbers, strings, tensors, numpy '
            'arrays)')
    # Nothing loaded may carry instance attributes: one named like a
    # special method (``__deepcopy__``, ``__reduce_ex__``) would be called
    # by ``copy.deepcopy`` instead of the type's own.
    attrs = _instance_attributes(value)
    if attrs:
        raise CheckpointError(
            f'{filename}: {path} (a {type(value).__qualname__}) carries '
            f'instance attributes {sorted(map(str, attrs))[:5]}; loaded '
            'objects may hold only what their type defines')


def _check_history_buffer(value, path: str, filename: str) -> None:
    from mmengine.logging import HistoryBuffer
    if type(value) is not HistoryBuffer:
        _check_plain(value, path, filename)
        return
    extra = set(vars(value)) - set(HISTORY_BUFFER_STATE)
    if extra:
        raise CheckpointError(
            f'{filename}: the HistoryBuffer {path} carries extra '
            f'attributes {sorted(map(str, extra))}')
    for key in HISTORY_BUFFER_STATE[1:]:
        _check_leaf(vars(value).get(key), f'{path}.{key}', filename)


def _check_plain(root, path: str, filename: str) -> None:
    """Walk ``root`` (no recursion, so no depth limit) and refuse anything
    that is not plain data."""
    seen = set()
    stack = [(root, path)]
    while stack:
        value, where = stack.pop()
        kind = type(value)
        if kind not in _CONTAINERS:
            _check_leaf(value, where, filename)
            continue
        if id(value) in seen:
            continue
        seen.add(id(value))
        if kind in (dict, OrderedDict, Counter):
            attrs = {} if kind is dict else vars(value)
            # torch's state dicts carry only ``_metadata``.
            if set(attrs) - ({'_metadata'} if kind is OrderedDict else set()):
                name = 'an OrderedDict' if kind is OrderedDict else 'a Counter'
                raise CheckpointError(
                    f'{filename}: {where} ({name}) carries '
                    f'attributes {sorted(map(str, attrs))}')
            if attrs:
                stack.append((attrs['_metadata'], f'{where}._metadata'))
            for key, item in value.items():
                if type(key) not in (str, int, float, bool, tuple,
                                     type(None)):
                    raise CheckpointError(
                        f'{filename}: {where} has a key of type '
                        f'{type(key).__name__}')
                stack.append((item, f'{where}[{key!r}]'))
        else:
            stack.extend((item, f'{where}[{i}]')
                         for i, item in enumerate(value))


def check_checkpoint_structure(checkpoint: Any, filename: str) -> None:
    """Refuse a loaded checkpoint that is not plain data.

    The unpickler has already allowed only known globals; this is the
    second, structural check, done before mmengine deep-copies or compares
    anything from the file. A :class:`HistoryBuffer` is accepted only as a
    value of ``message_hub['log_scalars']``, and only with its histories and
    ``max_length``.

    Args:
        checkpoint: The object ``torch.load`` returned.
        filename (str): Named in the error.

    Raises:
        CheckpointError: naming the first offending entry.
    """
    if type(checkpoint) not in (dict, OrderedDict):
        raise CheckpointError(
            f'{filename}: a checkpoint must be a dict, got a '
            f'{type(checkpoint).__name__}')
    for key, value in checkpoint.items():
        if key != 'message_hub':
            _check_plain(value, f'checkpoint[{key!r}]', filename)
            continue
        if type(value) not in (dict, OrderedDict):
            raise CheckpointError(
                f'{filename}: checkpoint[\'message_hub\'] must be a dict')
        for part, content in value.items():
            where = f'message_hub[{part!r}]'
            if part == 'log_scalars' and type(content) in (dict,
                                                           OrderedDict):
                for name, buffer in content.items():
                    if type(name) is not str:
                        raise CheckpointError(
                            f'{filename}: {where} has a non-string key')
                    _check_history_buffer(buffer, f'{where}[{name!r}]',
                                          filename)
            else:
                _check_plain(content, where, filename)


def state_dict_mismatches(model: torch.nn.Module,
                          state_dict: Dict[str, Any],
                          revise_keys=((r'^module\.', ''), )
                          ) -> Tuple[List[str], List[str], List[str]]:
    """Compare a checkpoint's weights with a model.

    Args:
        model (nn.Module): The model to be loaded.
        state_dict (dict): The checkpoint's ``state_dict``.
        revise_keys (list): ``(pattern, replacement)`` applied to the
            checkpoint's keys first, as mmengine does.

    Returns:
        tuple(list, list, list): ``'name: checkpoint (a, b) vs model (c,
        d)'`` for each shape mismatch, the model's keys missing from the
        checkpoint and the checkpoint's keys the model does not have.
    """
    revised = {}
    for key, value in state_dict.items():
        for pattern, repl in revise_keys:
            key = re.sub(pattern, repl, key)
        revised[key] = value
    own = model.state_dict()
    mismatched = [
        f'{key}: checkpoint {tuple(revised[key].shape)} vs model '
        f'{tuple(value.shape)}' for key, value in own.items()
        if key in revised and hasattr(revised[key], 'shape')
        and tuple(revised[key].shape) != tuple(value.shape)
    ]
    missing = [key for key in own if key not in revised]
    unexpected = [key for key in revised if key not in own]
    return mismatched, missing, unexpected


_SAFE_CALLS = {'dict': dict, 'list': list, 'tuple': tuple, 'set': set}


def _literal(node: ast.AST):
    """Evaluate a config expression made of literals and ``dict(...)``."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        items = [_literal(n) for n in node.elts]
        return {ast.List: list, ast.Tuple: tuple,
                ast.Set: set}[type(node)](items)
    if isinstance(node, ast.Dict):
        return {_literal(k): _literal(v)
                for k, v in zip(node.keys, node.values)}
    if isinstance(node, ast.UnaryOp) and isinstance(node.op,
                                                    (ast.USub, ast.UAdd)):
        value = _literal(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
            and node.func.id in _SAFE_CALLS):
        if node.func.id == 'dict':
            return {kw.arg: _literal(kw.value) for kw in node.keywords}
        return _SAFE_CALLS[node.func.id](
            _literal(node.args[0]) if node.args else ())
    raise ValueError(f'not a literal: {ast.dump(node)[:80]}')


def config_from_text(text: str) -> Dict[str, Any]:
    """Read the top-level ``name = value`` entries of a config's text.

    mmengine stores ``cfg.pretty_text`` in ``meta['cfg']``; running that
    text (``Config.fromstring``) would run code from the checkpoint, so
    only literals, lists, tuples and ``dict(...)`` are evaluated here;
    entries that are anything else are left out.

    Args:
        text (str): The config text.

    Returns:
        dict: entry name to value.
    """
    out: Dict[str, Any] = {}
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return out
    for stmt in tree.body:
        if (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)):
            try:
                out[stmt.targets[0].id] = _literal(stmt.value)
            except (ValueError, TypeError):
                continue
    return out


def _names(value) -> List[str]:
    if isinstance(value, (list, tuple)):
        return [str(name) for name in value]
    return []


def check_checkpoint_dataset(meta: Any, classes, filename: str,
                             dataset: str = 'the test dataset') -> None:
    """Refuse to evaluate a checkpoint on a dataset of other classes.

    Compares the class names the checkpoint was trained with
    (``meta['dataset_meta']['classes']``, as mmengine stores them) and the
    length of its class counts (``meta['class_counts']``) with the classes
    of the dataset to be evaluated. A checkpoint that stores neither is not
    checked.

    Args:
        meta: The checkpoint's ``meta``.
        classes (Sequence[str] | None): The evaluated dataset's class names;
            None skips the check.
        filename (str): The checkpoint, named in the error.
        dataset (str): The evaluated dataset, named in the error.

    Raises:
        CheckpointError: naming both class lists (their first difference).
    """
    if not isinstance(meta, dict) or not classes:
        return
    ours = _names(classes)
    dataset_meta = meta.get('dataset_meta')
    theirs = _names(dataset_meta.get('classes')) if isinstance(
        dataset_meta, dict) else []
    counts = meta.get('class_counts')
    problem = None
    if theirs and theirs != ours:
        first = next((i for i, (a, b) in enumerate(zip(theirs, ours))
                      if a != b), min(len(theirs), len(ours)))
        problem = (
            f'it was trained on {len(theirs)} classes '
            f'{theirs[:5]}{" ..." if len(theirs) > 5 else ""}, {dataset} '
            f'has {len(ours)} classes {ours[:5]}'
            f'{" ..." if len(ours) > 5 else ""} (first difference at class '
            f'{first}: '
            f'{theirs[first] if first < len(theirs) else "none"!r} vs '
            f'{ours[first] if first < len(ours) else "none"!r})')
    elif isinstance(counts, (list, tuple)) and len(counts) != len(ours):
        problem = (f'its meta.class_counts has {len(counts)} entries, '
                   f'{dataset} has {len(ours)} classes')
    if problem:
        raise CheckpointError(
            f'checkpoint {filename} does not belong to {dataset}: {problem}. '
            'Its predictions would be scored against other labels. Pass '
            '--allow-dataset-mismatch to evaluate it anyway.')
