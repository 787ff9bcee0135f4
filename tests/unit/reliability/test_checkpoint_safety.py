# Copyright (c) shike-mm contributors. All rights reserved.
"""No code runs from a checkpoint: crafted checkpoints made only of globals
the old allow-list admitted are refused while unpickling or by the
structural check, on ``tools/train.py --resume`` and ``tools/test.py``; real
mmengine checkpoints (including empty numpy arrays) still load. The cases
that start a process or compile are in
tests/integration/reliability/test_checkpoint_safety.py."""
import io
import pickle
import re

import numpy as np
import pytest
import torch

from tests.helpers import crafted_checkpoints as crafted
from tests.helpers.checkpoint_roundtrip import refused, roundtrip


def test_getattr_cannot_reach_builtins(tmp_path):
    marker = tmp_path / 'ran'
    # ``getattr`` in the file now names the stand-in, a plain function,
    # and asking it for anything but a HistoryBuffer method is refused.
    refused({'x': crafted.eval_payload(marker)},
            "attribute '__self__' of a function object")
    refused({'x': crafted.PickledGetattr(np.ndarray, 'tofile')},
            "attribute 'tofile' of a type")
    refused({'x': crafted.code_running_buffer(marker)}, 'getattr')
    assert not marker.exists()


def test_history_buffer_state_is_checked():
    refused({'x': crafted.PickledHistoryBuffer(crafted.buffer_state(
        __deepcopy__=np.dtype))}, "unexpected attribute.*'__deepcopy__'")
    refused({'x': crafted.PickledHistoryBuffer(crafted.buffer_state(
        statistics_methods={'mean': np.dtype}))}, "method 'mean'")
    refused({'x': crafted.PickledHistoryBuffer(crafted.buffer_state(
        _log_history=np.array([1.0, 2.0])))}, 'has 2 entries but')
    refused({'x': crafted.PickledHistoryBuffer(crafted.buffer_state(
        max_length='1'))}, 'max_length must be a positive int')
    refused({'x': crafted.PickledHistoryBuffer(
        {'max_length': 3})}, 'missing attribute')
    from mmengine.logging import HistoryBuffer

    # the class-wide method table is untouched by the refused loads
    assert HistoryBuffer._statistics_methods['mean'] is HistoryBuffer.mean


def test_bytes_only_empty():
    class CallsBytes:

        def __reduce__(self):
            return bytes, (10**12, )

    refused({'x': CallsBytes()}, r'bytes\(\) with 1 argument')


def test_real_message_hub_and_empty_arrays_load():
    from mmengine.logging import HistoryBuffer, MessageHub
    hub = MessageHub.get_instance('reliability-roundtrip')
    hub.update_scalar('train/loss', 0.25)
    hub.update_scalar('train/loss', 0.75)
    hub.update_info('eta', np.float64(1.5))
    hub.update_info('empty', np.array([]))
    state = hub.state_dict()
    state['log_scalars']['never_updated'] = HistoryBuffer()
    loaded = roundtrip({'message_hub': state, 'meta': {
        'empty': np.array([]), 'empty_int': np.zeros((0, 3), np.int64),
        'bytes': b''}})
    buffers = loaded['message_hub']['log_scalars']
    assert buffers['train/loss'].mean() == 0.5
    assert buffers['train/loss'].statistics('max') == 0.75
    assert len(buffers['never_updated'].data[0]) == 0
    assert loaded['meta']['empty'].shape == (0, )
    assert loaded['meta']['empty_int'].shape == (0, 3)
    assert loaded['meta']['bytes'] == b''


def test_numpy1_module_paths_load():
    """Checkpoints written under numpy 1.x name ``numpy.core.multiarray``."""
    import shike_mm  # noqa: F401
    buffer = io.BytesIO()
    # the legacy format is one plain pickle stream, easy to rewrite
    torch.save({'a': np.arange(3), 's': np.float64(2.5)}, buffer,
               _use_new_zipfile_serialization=False)
    raw = buffer.getvalue()
    assert b'numpy._core.multiarray\n' in raw
    old = raw.replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
    loaded = torch.load(io.BytesIO(old), weights_only=True)
    assert loaded['a'].tolist() == [0, 1, 2] and loaded['s'] == 2.5


@pytest.mark.parametrize('make, what', [
    (lambda n: crafted.PickledReconstruct((n, )),
     'a numpy array of shape'),
    (lambda n: crafted.PickledEmptyScalar(n), 'a numpy scalar of dtype'),
])
def test_allocation_is_bounded_by_the_file_size(tmp_path, make, what):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                  load_checkpoint_file)
    path = crafted.save({'meta': {'buffer': make(256 * 2**20)}},
                        tmp_path / 'alloc.pth')
    size = path.stat().st_size
    with pytest.raises(CheckpointError) as err:
        load_checkpoint_file(str(path))
    message = str(err.value)
    assert f'refused to load checkpoint {path}' in message
    assert f'asks to allocate {256 * 2**20} bytes for {what}' in message
    assert f'at most {size} more bytes this way (the {size}-byte file)' \
        in message
    # outside load_checkpoint_file the default limit applies
    refused({'x': make(256 * 2**20)}, 'the default limit')
    # small ones are fine
    assert roundtrip({'x': make(16)})['x'].nbytes == 16


def test_numpy_array_built_with_newobj_is_refused():
    from torch import _weights_only_unpickler

    import shike_mm  # noqa: F401
    data = crafted.new_array_pickle(256 * 2**20)
    with pytest.raises(pickle.UnpicklingError,
                       match='creates a numpy.ndarray directly'):
        _weights_only_unpickler.load(io.BytesIO(data))


def test_no_loaded_object_carries_instance_attributes(tmp_path):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                  check_checkpoint_structure)
    tensor = torch.ones(2)
    tensor.__deepcopy__ = np.dtype  # shadows Tensor.__deepcopy__
    param = torch.nn.Parameter(torch.ones(2))
    param.__copy__ = np.dtype
    for value, where in ((tensor, "checkpoint['meta']['t']"),
                         (param, "checkpoint['state_dict']['w']")):
        checkpoint = {'meta': {'t': torch.ones(1)},
                      'state_dict': {'w': torch.ones(1)}}
        key = 'meta' if 'meta' in where else 'state_dict'
        checkpoint[key]['t' if key == 'meta' else 'w'] = value
        loaded = roundtrip(checkpoint)  # the unpickler lets it through
        with pytest.raises(CheckpointError,
                           match=re.escape(where) + r' \(a (Tensor|'
                           r'Parameter)\) carries instance attributes '
                           r"\['__(deepcopy|copy)__'\]"):
            check_checkpoint_structure(loaded, 'x.pth')
