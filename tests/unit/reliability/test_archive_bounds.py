# Copyright (c) shike-mm contributors. All rights reserved.
"""A checkpoint's bytes cannot make the loader allocate more than a small
multiple of the file's size: compressed zip records, ``bytearray(n)``,
tensor views that repeat their storage, constructors that iterate a tensor
and re-encoding codecs are refused, naming the record or the key path,
before ``torch.load`` reads anything; so are records whose size does not
match their storage, deep nesting and files that are not regular files. The
cases that start a process or compile are in
tests/integration/reliability/test_archive_bounds.py."""
import os

import pytest
import torch

from tests.helpers import crafted_checkpoints as crafted


def test_records_larger_than_the_file_refused(tmp_path):
    plain = crafted.save({'a': torch.arange(16)}, tmp_path / 'a.pth')
    # the same data.pkl, naming a storage whose record is not there
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 load_checkpoint_file)
    missing = crafted.rezipped(plain, tmp_path / 'missing.pth',
                               replace={'data/0': b''})
    with pytest.raises(CheckpointError,
                       match=r"storage '0' \(16 elements of 8 bytes, "
                       r'torch.LongStorage\) does not match its record '
                       r"data/0 of 0 bytes \(at key path \['a'\]"):
        load_checkpoint_file(str(missing))


def test_deep_nesting_refused_before_unpickling(tmp_path):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 load_checkpoint_file)
    plain = crafted.save({'a': 1}, tmp_path / 'a.pth')
    deep = crafted.rezipped(plain, tmp_path / 'deep.pth', replace={
        'data.pkl': crafted.nested_lists(200_000)})
    with pytest.raises(CheckpointError,
                       match='data.pkl nests more than 10000 values deep'):
        load_checkpoint_file(str(deep))


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='needs FIFOs')
def test_device_and_fifo_are_not_regular_files(tmp_path):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 load_checkpoint_file)
    fifo = tmp_path / 'pipe.pth'
    os.mkfifo(fifo)
    for path in (str(fifo), '/dev/zero'):
        with pytest.raises(CheckpointError,
                           match=f'checkpoint {path} is not a regular file'):
            load_checkpoint_file(path)


def test_pre_zip_format_refused(tmp_path):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 load_checkpoint_file)
    path = tmp_path / 'legacy.pth'
    torch.save({'a': torch.ones(2)}, path,
               _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match='is not a zip archive as '
                       'torch.save writes .* format of torch < 1.6'):
        load_checkpoint_file(str(path))
