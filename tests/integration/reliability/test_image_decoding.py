# Copyright (c) shike-mm contributors. All rights reserved.
"""An image that does not decode (empty, or bytes that are no image) stops
the run with an error naming the file, through mmpretrain's
``LoadImageFromFile`` and the project's ``LoadImageFromFileBounded``. Here
a run of ``tools/train.py`` (in this process, ``main(argv)``); the
transforms alone are in tests/unit/reliability/test_image_decoding.py."""


from tests.helpers.inprocess_tools import run_train
from tests.helpers.tiny_runs import TINY_CONFIG, tiny_data_options
from tests.helpers.tiny_image_folder import write_image_folder


def test_empty_image_stops_training_naming_it(tmp_path):
    root = write_image_folder(tmp_path / 'data')
    empty = root / 'train/class2/5.png'
    empty.write_bytes(b'')
    run = run_train([TINY_CONFIG, '--work-dir', tmp_path / 'w',
                     '--cfg-options', *tiny_data_options(root),
                     'train_cfg.max_epochs=1'])
    assert run.raised(ValueError), run
    assert f'ValueError: {empty} is empty (0 bytes)' in run.message, run
    assert not list((tmp_path / 'w').glob('*.pth'))
