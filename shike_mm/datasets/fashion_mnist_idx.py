# Copyright (c) shike-mm contributors. All rights reserved.
import gzip
import os.path as osp
import zlib
from typing import List, Optional, Tuple

import numpy as np

from mmpretrain.datasets import BaseDataset
from mmpretrain.datasets.categories import FASHIONMNIST_CATEGORITES
from mmpretrain.registry import DATASETS

IDX_IMAGES_MAGIC = 2051
IDX_LABELS_MAGIC = 2049


def read_idx_gz(path: str, magic: int) -> np.ndarray:
    """Read one gzipped IDX file of unsigned bytes (MNIST layout).

    Args:
        path (str): Path of the ``*-ubyte.gz`` file.
        magic (int): Expected magic number, 2051 for images, 2049 for labels.

    Returns:
        np.ndarray: uint8 array of shape (N, H, W) for images or (N, ) for
        labels.
    """
    try:
        with gzip.open(path, 'rb') as f:
            raw = f.read()
    except (OSError, EOFError, zlib.error) as err:
        # gzip.BadGzipFile is an OSError; a truncated file ends in EOFError
        raise ValueError(f'{path}: not a readable gzip file (truncated or '
                         f'corrupt: {type(err).__name__}: {err})') from err
    if len(raw) < 8:
        raise ValueError(f'{path}: too short for an IDX file')
    found = int.from_bytes(raw[:4], 'big')
    if found != magic:
        raise ValueError(f'{path}: IDX magic number is {found}, expected '
                         f'{magic} (0x08 unsigned-byte data)')
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(
        int.from_bytes(raw[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim))
    expected = int(np.prod(shape))
    if len(raw) - header != expected:
        raise ValueError(f'{path}: header says shape {shape} '
                         f'({expected} bytes) but holds '
                         f'{len(raw) - header} bytes of data')
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


@DATASETS.register_module()
class FashionMNISTIDX(BaseDataset):
    """Fashion-MNIST read straight from its gzipped IDX files.

    The files are the ones of the Debian / Ubuntu package
    ``dataset-fashion-mnist`` (``apt-get install -y dataset-fashion-mnist``
    puts them in ``/usr/share/datasets/fashion-mnist``)::

        data_root/
        ├── train-images-idx3-ubyte.gz   (60,000 x 28 x 28)
        ├── train-labels-idx1-ubyte.gz
        ├── t10k-images-idx3-ubyte.gz    (10,000 x 28 x 28)
        └── t10k-labels-idx1-ubyte.gz

    They are decompressed in memory; nothing is unpacked to disk and nothing
    is downloaded. Each sample's ``img`` is a uint8 array of shape
    (28, 28, 3), the grey value replicated to three channels, so CIFAR-style
    models and pipelines run unchanged; with ``gray_to_rgb=False`` it is
    (28, 28), as mmpretrain's ``MNIST`` yields.

    Args:
        data_root (str): Folder holding the four ``.gz`` files. Defaults to
            ``'/usr/share/datasets/fashion-mnist'``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        gray_to_rgb (bool): Replicate the grey channel to 3 channels.
            Defaults to True.
        metainfo (dict, optional): Meta information. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.BaseDataset`
            (``pipeline``, ``test_mode``, ``lazy_init``, ...).
    """

    METAINFO = {'classes': FASHIONMNIST_CATEGORITES}
    FILES = {
        'train': ('train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'),
        'test': ('t10k-images-idx3-ubyte.gz', 't10k-labels-idx1-ubyte.gz'),
    }

    def __init__(self,
                 data_root: str = '/usr/share/datasets/fashion-mnist',
                 split: str = 'train',
                 gray_to_rgb: bool = True,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        if split not in self.FILES:
            raise ValueError(f'FashionMNISTIDX: split must be one of '
                             f'{list(self.FILES)}, got {split!r}')
        if not data_root:
            raise ValueError('FashionMNISTIDX: data_root must be set')
        self.split = split
        self.gray_to_rgb = gray_to_rgb
        super().__init__(
            ann_file='',
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=dict(root=''),
            **kwargs)

    def _paths(self) -> Tuple[str, str]:
        root = self.data_prefix['root']
        expected = [name for pair in self.FILES.values() for name in pair]
        missing = [n for n in expected if not osp.isfile(osp.join(root, n))]
        if missing:
            raise FileNotFoundError(
                f'FashionMNISTIDX: {root} does not hold the Fashion-MNIST '
                f'IDX files. Missing: {missing}. Expected files: {expected}. '
                'Nothing is downloaded; install them with '
                '`apt-get install -y dataset-fashion-mnist` (they go to '
                '/usr/share/datasets/fashion-mnist) or point data_root at '
                'a copy.')
        images, labels = self.FILES[self.split]
        return osp.join(root, images), osp.join(root, labels)

    def load_data_list(self) -> List[dict]:
        """Decode the IDX files of the split into sample dicts."""
        images_path, labels_path = self._paths()
        images = read_idx_gz(images_path, IDX_IMAGES_MAGIC)
        labels = read_idx_gz(labels_path, IDX_LABELS_MAGIC)
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(
                f'FashionMNISTIDX: {images_path} has shape {images.shape} '
                f'and {labels_path} shape {labels.shape}; expected (N, H, W) '
                'and (N, )')
        if len(images) != len(labels):
            raise ValueError(
                f'FashionMNISTIDX: {images_path} holds {len(images)} images '
                f'but {labels_path} holds {len(labels)} labels')
        num_classes = len(self.CLASSES)
        if len(labels) and labels.max() >= num_classes:
            bad = int(np.argmax(labels >= num_classes))
            raise ValueError(
                f'FashionMNISTIDX: {labels_path}: label {int(labels[bad])} '
                f'of sample {bad} is outside [0, {num_classes})')
        # Stored grey (H, W) to keep the serialized data list small; the
        # channels are replicated in ``prepare_data``.
        return [{
            'img': img,
            'gt_label': int(label)
        } for img, label in zip(images, labels)]

    def prepare_data(self, idx: int):
        """Fetch sample ``idx`` as (H, W, 3) (or (H, W)) uint8 and run the
        pipeline on it."""
        data_info = self.get_data_info(idx)
        if self.gray_to_rgb:
            data_info['img'] = np.repeat(data_info['img'][..., None], 3, -1)
        return self.pipeline(data_info)

    def extra_repr(self) -> List[str]:
        """The extra repr information of the dataset."""
        return [
            f"Data root: \t{self.data_prefix['root']}",
            f'Split: \t{self.split}',
            f'Gray to RGB: \t{self.gray_to_rgb}',
        ]
