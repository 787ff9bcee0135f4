# Copyright (c) shike-mm contributors. All rights reserved.
"""An image that does not decode (empty, or bytes that are no image) stops
the run with an error naming the file, through mmpretrain's
``LoadImageFromFile`` and the project's ``LoadImageFromFileBounded``. The
cases that start a process or compile are in
tests/integration/reliability/test_image_decoding.py."""
import re

import numpy as np
import pytest

from tests.helpers.tiny_image_folder import write_image_folder


@pytest.mark.parametrize('loader', ['LoadImageFromFile',
                                    'LoadImageFromFileBounded'])
@pytest.mark.parametrize('content, what', [
    (b'', 'is empty (0 bytes)'),
    (b'not an image at all', '(19 bytes) is not a decodable image'),
])
def test_undecodable_image_names_the_file(tmp_path, loader, content, what):
    import shike_mm  # noqa: F401  registers the transforms
    from mmpretrain.registry import TRANSFORMS
    good = write_image_folder(tmp_path, num_classes=1, train_per_class=1,
                              val_per_class=1) / 'train/class0/0.png'
    bad = tmp_path / 'bad.png'
    bad.write_bytes(content)
    transform = TRANSFORMS.build(dict(type=loader))
    assert transform(dict(img_path=str(good)))['img'].shape == (16, 16, 3)
    with pytest.raises(ValueError, match=re.escape(f'{bad} {what}')):
        transform(dict(img_path=str(bad)))
    # ignore_empty keeps skipping the files it skipped (decoder errors);
    # bytes that decode to nothing stay errors, as in mmcv
    skipping = TRANSFORMS.build(dict(type=loader, ignore_empty=True))
    if content:
        with pytest.raises(ValueError, match=re.escape(f'{bad} {what}')):
            skipping(dict(img_path=str(bad)))
    else:
        assert skipping(dict(img_path=str(bad))) is None


def test_plain_loader_decodes_as_mmcv(tmp_path):
    import shike_mm  # noqa: F401
    from mmcv.transforms import LoadImageFromFile
    from mmpretrain.registry import TRANSFORMS
    path = write_image_folder(tmp_path, num_classes=1, train_per_class=1,
                              val_per_class=1) / 'train/class0/0.png'
    ours = TRANSFORMS.build(dict(type='LoadImageFromFile', to_float32=True))
    theirs = LoadImageFromFile(to_float32=True)
    np.testing.assert_array_equal(ours(dict(img_path=str(path)))['img'],
                                  theirs(dict(img_path=str(path)))['img'])
