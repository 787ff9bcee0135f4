# Copyright (c) shike-mm contributors. All rights reserved.
"""A checkpoint's bytes cannot make the loader allocate more than a small
multiple of the file's size: compressed zip records, ``bytearray(n)``,
tensor views that repeat their storage, constructors that iterate a tensor
and re-encoding codecs are refused, naming the record or the key path,
before ``torch.load`` reads anything; so are records whose size does not
match their storage, deep nesting and files that are not regular files. Here
the cases that measure the peak memory of a fresh interpreter, run
``tools/test.py`` (in this process, ``main(argv)``) or need a trained
checkpoint; the others are in
tests/unit/reliability/test_archive_bounds.py."""
import sys

import pytest
import torch

from tests.helpers.commands import run_command
from tests.helpers import crafted_checkpoints as crafted
from tests.helpers.inprocess_tools import run_test
from tests.helpers.tiny_runs import (TINY_CONFIG, load, tiny_data_options)

PAD = 64 * 2**20

# Loads each checkpoint in a fresh interpreter after a warm-up load of a
# small valid one, and prints how much the peak resident memory grew (KiB).
PEAK_SCRIPT = '''
import resource, sys, torch
from shike_mm.engine.checkpoint.check import load_checkpoint_file
load_checkpoint_file(sys.argv[1])
for path in sys.argv[2:]:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        load_checkpoint_file(path)
        print('outcome loaded')
    except Exception as err:
        print('outcome refused', type(err).__name__)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print('peak_growth_kib', after - before)
'''


def peak_growths(paths, warm_up):
    """Loading each of ``paths`` in turn: (outcome, peak growth in bytes)
    for each."""
    proc = run_command([sys.executable, '-c', PEAK_SCRIPT, warm_up, *paths])
    lines = [line.split(' ', 1)[1] for line in proc.stdout.splitlines()
             if line.startswith(('outcome ', 'peak_growth_kib '))]
    assert len(lines) == 2 * len(paths), proc.stdout[-3000:]
    return [(lines[i], int(lines[i + 1]) * 1024)
            for i in range(0, len(lines), 2)]


@pytest.fixture
def warm_up(tmp_path):
    return str(crafted.save({'meta': {'x': torch.ones(4)}},
                            tmp_path / 'warm.pth'))


def deflated_bomb(base, tmp_path):
    """``base`` plus a 64 MiB zero tensor whose record is deflated: a
    record of about 64 KiB declared to inflate to 64 MiB."""
    plain = crafted.save(dict(base, pad=torch.zeros(PAD, dtype=torch.uint8)),
                         tmp_path / 'plain.pth')
    key = crafted.last_storage_key(plain)
    bomb = crafted.rezipped(plain, tmp_path / 'bomb.pth',
                            deflate=[f'/data/{key}'])
    plain.unlink()
    return bomb, key


def test_compressed_record_refused_by_test_tool(tmp_path, tiny_root,
                                                tiny_run, warm_up):
    bomb, key = deflated_bomb(load(tiny_run / 'epoch_1.pth'), tmp_path)
    size = bomb.stat().st_size
    assert size < PAD / 8
    run = run_test([TINY_CONFIG, bomb, '--work-dir', tmp_path / 'w',
                    '--cfg-options', *tiny_data_options(tiny_root)])
    assert run.exit_code != 0, run
    assert f'CheckpointError: refused to load checkpoint {bomb}: record ' \
        f'plain/data/{key} is compressed (deflate' in run.message, run
    assert f'declared to inflate to {PAD})' in run.message
    assert 'accuracy/top1: ' not in run.output
    [(outcome, growth)] = peak_growths([bomb], warm_up)
    assert outcome == 'refused CheckpointError'
    assert growth <= 4 * size, (growth, size)


ALLOCATING = [
    (crafted.PickledBytearray(PAD),
     rf'bytearray\({PAD}\) asks to allocate {PAD} bytes that are not '
     r"stored in the file.*at key path \['meta'\]\['pad'\]"),
    (torch.zeros(1).expand(4096, 4096),
     r'a tensor of shape \(4096, 4096\) on a storage of 4 bytes asks to '
     r"allocate 67108860 bytes.*at key path \['meta'\]\['pad'\]"),
    (crafted.PickledSetOf(torch.zeros(1).expand(2**24)),
     r"at key path \['meta'\]\['pad'\]"),
    (crafted.PickledEncode(crafted.PickledEncode(b'ab' * 2**10, 'hex'),
                           'hex'),
     r"_codecs.encode with .*'latin1' only \(at key path "
     r"\['meta'\]\['pad'\]"),
    (torch.zeros(PAD // 4, device='meta'),
     r'a meta tensor .*dense tensors only'),
]


def test_allocating_constructors_bounded(tmp_path, warm_up):
    from shike_mm.engine.checkpoint.check import (CheckpointError,
                                                 load_checkpoint_file)
    paths = []
    for i, (value, message) in enumerate(ALLOCATING):
        path = crafted.save({'meta': {'pad': value}},
                            tmp_path / f'alloc{i}.pth')
        with pytest.raises(CheckpointError, match=message):
            load_checkpoint_file(str(path))
        paths.append(path)
    for path, (outcome, growth) in zip(paths,
                                       peak_growths(paths, warm_up)):
        assert outcome == 'refused CheckpointError'
        assert growth <= 4 * max(path.stat().st_size, 2**20), \
            (path, growth)


def test_bytearray_refused_by_test_tool(tmp_path, tiny_root, tiny_run):
    checkpoint = load(tiny_run / 'epoch_1.pth')
    checkpoint['meta']['pad'] = crafted.PickledBytearray(PAD)
    path = crafted.save(checkpoint, tmp_path / 'bytearray.pth')
    run = run_test([TINY_CONFIG, path, '--work-dir', tmp_path / 'w',
                    '--cfg-options', *tiny_data_options(tiny_root)])
    assert run.exit_code != 0, run
    assert f'refused to load checkpoint {path}: bytearray({PAD}) asks to ' \
        f'allocate {PAD} bytes' in run.message, run
    assert "at key path ['meta']['pad'] of data.pkl" in run.message
    assert 'accuracy/top1: ' not in run.output


def test_real_checkpoint_passes_the_archive_check(tiny_run):
    from shike_mm.engine.checkpoint.archive import check_checkpoint_archive
    from shike_mm.engine.checkpoint.check import load_checkpoint_file
    path = str(tiny_run / 'epoch_1.pth')
    check_checkpoint_archive(path)
    loaded = load_checkpoint_file(path)
    reference = load(path)
    assert loaded.keys() == reference.keys()
    for key, value in reference['state_dict'].items():
        assert torch.equal(loaded['state_dict'][key], value)
