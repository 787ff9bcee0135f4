# Copyright (c) shike-mm contributors. All rights reserved.
"""LoadImageFromFileBounded: images declaring more pixels than max_pixels
are refused before they are decoded (a 48 KB PNG of 20000x20000 pixels
would otherwise take GBs in a worker); others load as LoadImageFromFile
loads them."""
import os.path as osp

import mmcv
import numpy as np
import pytest
from mmengine.config import Config
from mmpretrain.registry import DATASETS, TRANSFORMS
from PIL import Image

import shike_mm  # noqa: F401
from shike_mm.datasets import header_image_size
from tests.helpers.commands import REPO_ROOT
from tests.helpers.generators import write_huge_png

CONFIG_DIR = osp.join(
    str(REPO_ROOT), 'configs',
    '_base_', 'datasets')


@pytest.fixture(scope='module')
def huge_png(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('huge') / 'huge.png')
    assert write_huge_png(path, 20000, 20000) < 400_000
    return path


@pytest.fixture(scope='module')
def normal_images(tmp_path_factory):
    root = tmp_path_factory.mktemp('normal')
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    paths = {}
    for name, img in (('rgb.jpg', Image.fromarray(rgb)),
                      ('rgb.png', Image.fromarray(rgb)),
                      ('gray.png', Image.fromarray(rgb[..., 0])),
                      ('rgba.png', Image.fromarray(
                          np.dstack([rgb, rgb[..., :1]]), 'RGBA'))):
        paths[name] = str(root / name)
        img.save(paths[name])
    return paths


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any image is decoded."""

    def refuse(*args, **kwargs):
        raise AssertionError('the image was decoded')

    monkeypatch.setattr(mmcv, 'imfrombytes', refuse)


def test_huge_png_is_refused_before_decoding(huge_png, no_decoding):
    load = TRANSFORMS.build(dict(type='LoadImageFromFileBounded'))
    assert load.max_pixels == 89478485  # PIL's default limit
    with pytest.raises(ValueError) as info:
        load(dict(img_path=huge_png))
    assert str(info.value).startswith(
        f'{huge_png}: the image is 20000x20000 = 400000000 pixels (')
    assert 'more than max_pixels=89478485 of LoadImageFromFileBounded' \
        in str(info.value)
    # also with ignore_empty, which is about missing files
    load = TRANSFORMS.build(
        dict(type='LoadImageFromFileBounded', ignore_empty=True))
    with pytest.raises(ValueError, match='20000x20000'):
        load(dict(img_path=huge_png))


def test_header_size_is_read_without_decoding(huge_png, normal_images):
    with open(huge_png, 'rb') as f:
        data = f.read()
    # beyond PIL's own bomb limit, whose Image.open gives no size
    assert header_image_size(data) == (20000, 20000)
    assert header_image_size(data[:100]) == (20000, 20000)  # header only
    with open(normal_images['rgb.jpg'], 'rb') as f:
        assert header_image_size(f.read()) == (64, 48)
    assert header_image_size(b'not an image') is None


def test_bound_is_configurable(normal_images, tmp_path):
    path = normal_images['rgb.jpg']
    small = TRANSFORMS.build(
        dict(type='LoadImageFromFileBounded', max_pixels=64 * 48 - 1))
    with pytest.raises(ValueError, match=f'{path}: the image is 64x48 = '
                       '3072 pixels .*more than max_pixels=3071'):
        small(dict(img_path=path))
    exact = TRANSFORMS.build(
        dict(type='LoadImageFromFileBounded', max_pixels=64 * 48))
    assert exact(dict(img_path=path))['img'].shape == (48, 64, 3)
    unbounded = TRANSFORMS.build(
        dict(type='LoadImageFromFileBounded', max_pixels=None))
    big = str(tmp_path / 'big.png')
    write_huge_png(big, 3000, 2000)  # above a max_pixels of 3071
    assert unbounded(dict(img_path=big))['img'].shape == (2000, 3000, 3)
    for bad in (0, -5, 2.5, True, '1000'):
        with pytest.raises(ValueError, match='max_pixels must be a whole '
                           r'number >= 1 or None \(no bound\), got'):
            TRANSFORMS.build(dict(type='LoadImageFromFileBounded',
                                  max_pixels=bad))


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(color_type='grayscale'),
    dict(color_type='unchanged'),
    dict(to_float32=True),
    dict(imdecode_backend='pillow'),
])
def test_normal_images_load_as_with_load_image_from_file(
        normal_images, kwargs):
    ours = TRANSFORMS.build(dict(type='LoadImageFromFileBounded', **kwargs))
    theirs = TRANSFORMS.build(dict(type='LoadImageFromFile', **kwargs))
    for path in normal_images.values():
        a = ours(dict(img_path=path))
        b = theirs(dict(img_path=path))
        assert a.keys() == b.keys()
        assert a['img'].dtype == b['img'].dtype
        np.testing.assert_array_equal(a['img'], b['img'])
        assert a['img_shape'] == b['img_shape'] == b['img'].shape[:2]
        assert a['ori_shape'] == b['ori_shape']


def test_missing_and_undecodable_files_behave_as_before(tmp_path):
    ours = TRANSFORMS.build(dict(type='LoadImageFromFileBounded'))
    theirs = TRANSFORMS.build(dict(type='LoadImageFromFile'))
    missing = str(tmp_path / 'missing.jpg')
    for load in (ours, theirs):
        with pytest.raises(FileNotFoundError):
            load(dict(img_path=missing))
    garbage = tmp_path / 'garbage.jpg'
    garbage.write_bytes(b'not an image at all')
    for load in (ours, theirs):
        # a ValueError naming the file (mmcv asserts 'failed to load image')
        with pytest.raises(ValueError, match=f'{garbage} \\(19 bytes\\) is '
                           'not a decodable image'):
            load(dict(img_path=str(garbage)))
    quiet = TRANSFORMS.build(
        dict(type='LoadImageFromFileBounded', ignore_empty=True))
    assert quiet(dict(img_path=missing)) is None


@pytest.mark.parametrize('name', ['imagenet-lt.py', 'inat2018.py',
                                  'places-lt.py'])
def test_list_dataset_configs_bound_image_size(name, tmp_path, huge_png,
                                               normal_images):
    """The ImageNet-LT / iNaturalist / Places-LT base configs load with
    the bound, in training and test pipelines."""
    import shutil
    cfg = Config.fromfile(osp.join(CONFIG_DIR, name))
    assert cfg.max_image_pixels == 89478485
    shutil.copy(huge_png, tmp_path / 'huge.png')
    shutil.copy(normal_images['rgb.jpg'], tmp_path / 'ok.jpg')
    (tmp_path / 'list.txt').write_text('ok.jpg 0\nhuge.png 1\n')
    for split in ('train_dataloader', 'test_dataloader'):
        ds_cfg = cfg[split].dataset
        assert ds_cfg.pipeline[0] == dict(type='LoadImageFromFileBounded',
                                          max_pixels=89478485)
        ds_cfg.update(data_root=str(tmp_path), ann_file='list.txt')
        ds = DATASETS.build(ds_cfg)
        assert ds[0]['inputs'].shape == (3, 224, 224)
        with pytest.raises(ValueError,
                           match=f'{tmp_path}/huge.png: the image is '
                           '20000x20000 = 400000000 pixels'):
            ds[1]
