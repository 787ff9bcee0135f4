# Copyright (c) shike-mm contributors. All rights reserved.
import os

import pytest

from mmpretrain.registry import DATASETS
from shike_mm.datasets import (INaturalist2018, ImageNetLT, PlacesLT,
                               get_class_counts)
from tests.helpers.generators import write_list_dataset

COUNTS = [12, 7, 3, 0, 1]


@pytest.fixture(scope='module')
def imagenet_lt_root(tmp_path_factory):
    root = str(tmp_path_factory.mktemp('imagenet-lt'))
    write_list_dataset(root, 'ImageNet_LT_train.txt', COUNTS, (8, 10))
    return root


def test_imagenet_lt_from_list_file(imagenet_lt_root):
    ds = DATASETS.build(
        dict(
            type='ImageNetLT',
            data_root=imagenet_lt_root,
            ann_file='ImageNet_LT_train.txt',
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='PackInputs')
            ]))
    assert len(ds) == sum(COUNTS)
    assert len(ds.CLASSES) == 1000
    assert ds.class_counts == COUNTS + [0] * 995
    assert get_class_counts(ds) == ds.class_counts
    # file order and paths as listed
    with open(os.path.join(imagenet_lt_root, 'ImageNet_LT_train.txt')) as f:
        first_path, first_label = f.readline().split()
    info = ds.get_data_info(0)
    assert info['img_path'] == os.path.join(imagenet_lt_root, first_path)
    assert info['gt_label'] == int(first_label)
    packed = ds[0]
    assert packed['inputs'].shape == (3, 8, 10)
    assert int(packed['data_samples'].gt_label) == int(first_label)


def test_num_classes():
    assert len(ImageNetLT.METAINFO['classes']) == 1000
    assert len(INaturalist2018.METAINFO['classes']) == 8142
    assert len(PlacesLT.METAINFO['classes']) == 365


def _write_list(root, lines):
    with open(os.path.join(root, 'list.txt'), 'w') as f:
        f.write('\n'.join(lines) + '\n')


def test_label_out_of_range_names_file_line_value(tmp_path):
    _write_list(str(tmp_path), ['a/1.jpg 3', 'a/2.jpg 364', 'a/3.jpg 365'])
    with pytest.raises(ValueError) as err:
        PlacesLT(data_root=str(tmp_path), ann_file='list.txt')
    msg = str(err.value)
    assert 'list.txt, line 3: label 365 is outside [0, 365)' in msg
    _write_list(str(tmp_path), ['a/1.jpg -1'])
    with pytest.raises(ValueError, match='line 1: label -1'):
        PlacesLT(data_root=str(tmp_path), ann_file='list.txt')


def test_malformed_line_names_file_and_line(tmp_path):
    _write_list(str(tmp_path), ['a/1.jpg 3', 'a/2.jpg', 'a/3.jpg 1'])
    with pytest.raises(ValueError, match=r"list.txt, line 2: expected"):
        ImageNetLT(data_root=str(tmp_path), ann_file='list.txt')
    _write_list(str(tmp_path), ['a/1.jpg 3', 'a/2.jpg cat'])
    with pytest.raises(ValueError, match=r"line 2: expected .*'a/2.jpg cat'"):
        ImageNetLT(data_root=str(tmp_path), ann_file='list.txt')


def test_missing_image_named_at_load_time(tmp_path):
    write_list_dataset(str(tmp_path), 'train.txt', [2, 2])
    _write_list(str(tmp_path), [
        'train/00000/00000_00000.jpg 0', 'train/00001/nope.jpg 1'
    ])
    ds = INaturalist2018(
        data_root=str(tmp_path),
        ann_file='list.txt',
        pipeline=[dict(type='LoadImageFromFile')])
    assert ds[0]['img'].shape == (16, 16, 3)
    with pytest.raises(FileNotFoundError, match='train/00001/nope.jpg'):
        ds[1]


def test_missing_list_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='ImageNet_LT_val.txt'):
        ImageNetLT(data_root=str(tmp_path), ann_file='ImageNet_LT_val.txt')


def _lt_list(tmp_path, lines, test_mode=False, raw=None):
    from shike_mm.datasets.long_tail_list_dataset import LongTailListDataset
    if raw is None:
        _write_list(str(tmp_path), lines)
    else:
        (tmp_path / 'list.txt').write_bytes(raw)
    return LongTailListDataset(data_root=str(tmp_path), ann_file='list.txt',
                               metainfo=dict(classes=('a', 'b', 'c')),
                               test_mode=test_mode)


def test_duplicate_line_names_both_lines(tmp_path):
    with pytest.raises(ValueError, match=r'list.txt, line 3: duplicate of '
                       r"line 1 \(image '.*a/1.jpg'\)"):
        _lt_list(tmp_path, ['a/1.jpg 0', 'b/1.jpg 1', 'a/1.jpg 0',
                            'c/1.jpg 2'])


def test_empty_list_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match='list file .*list.txt is empty'):
        _lt_list(tmp_path, None, raw=b'')


def test_byte_order_mark_is_refused(tmp_path):
    with pytest.raises(ValueError, match='list.txt, line 1: starts with a '
                       'UTF-8 byte-order mark'):
        _lt_list(tmp_path, None,
                 raw='\ufeffa/1.jpg 0\nb/1.jpg 1\nc/1.jpg 2\n'.encode())


def test_class_without_images_is_reported(tmp_path, capsys):
    from mmengine.logging import MMLogger
    MMLogger.get_instance('list-datasets')  # print_log's 'current' logger
    ds = _lt_list(tmp_path, ['a/1.jpg 0', 'c/1.jpg 2'])
    assert ds.class_counts == [1, 0, 1]
    assert ('list.txt lists no image of 1 of its 3 classes: [1]. They are '
            'never trained') in capsys.readouterr().out
    _lt_list(tmp_path, ['a/1.jpg 0', 'c/1.jpg 2'], test_mode=True)
    assert 'lists no image' not in capsys.readouterr().out
