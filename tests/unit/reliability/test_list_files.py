# Copyright (c) shike-mm contributors. All rights reserved.
"""List files: one image spelled two ways is a duplicate, labels are ASCII
digits, a non-UTF-8 byte names its line, paths leaving the image folder
are reported."""
import re

import pytest

from mmengine.logging import MMLogger


def list_dataset(tmp_path, raw):
    from shike_mm.datasets.long_tail_list_dataset import LongTailListDataset
    (tmp_path / 'list.txt').write_bytes(raw)
    return LongTailListDataset(data_root=str(tmp_path), ann_file='list.txt',
                               metainfo=dict(classes=('a', 'b', 'c')))


@pytest.mark.parametrize('spelling', ['train/./c0/0.png', 'train//c0/0.png',
                                      'train/c1/../c0/0.png'])
def test_duplicate_spelled_differently(tmp_path, spelling):
    lines = f'train/c0/0.png 0\ntrain/c1/0.png 1\n{spelling} 0\n'
    with pytest.raises(ValueError, match=r'list.txt, line 3: duplicate of '
                       rf"line 1 \(image '.*{re.escape(spelling)}'\)"):
        list_dataset(tmp_path, lines.encode())


@pytest.mark.parametrize('label', ['0_1', '+2', '\u0663', '1.0', ' '])
def test_label_must_be_ascii_digits(tmp_path, label):
    raw = f'a/0.png 0\na/1.png {label}\n'.encode()
    with pytest.raises(ValueError, match=r'list.txt, line 2: expected '
                       '`relative/path label` with a label of ASCII digits'):
        list_dataset(tmp_path, raw)


def test_latin1_byte_names_file_and_line(tmp_path):
    raw = 'a/0.png 0\nb/caf\u00e9.png 1\n'.encode('latin-1')
    with pytest.raises(ValueError, match=r"list.txt, line 2: byte b'\\xe9' "
                       'is not UTF-8'):
        list_dataset(tmp_path, raw)


def test_paths_leaving_the_folder_warned_once(tmp_path, capsys):
    MMLogger.get_instance('list-files')  # print_log's 'current' logger
    dataset = list_dataset(tmp_path, b'a/0.png 0\n../x/1.png 1\n'
                           b'/etc/2.png 2\nb/../b/3.png 1\n')
    assert dataset.class_counts == [1, 2, 1]
    out = capsys.readouterr().out
    assert out.count('outside the image folder') == 1
    assert "lists 2 image(s) outside the image folder " \
        f"{tmp_path} (absolute paths or '..'), e.g. " in out
    list_dataset(tmp_path, b'a/0.png 0\nb/1.png 1\n')
    assert 'outside the image folder' not in capsys.readouterr().out
