# Copyright (c) shike-mm contributors. All rights reserved.
"""Writers of tiny datasets in the real on-disk formats, for tests.

Every writer is deterministic (``seed``) and returns what a test needs to
point a dataset at the files. Images carry their position in the file so a
test can tell which samples a dataset kept (:func:`decode_index`).
"""
import gzip
import os
import os.path as osp
import pickle
import struct
import zlib
from typing import List, Sequence, Tuple, Union

import numpy as np

CIFAR_VARIANTS = ('cifar100', 'cifar10')


def _labels_in_file_order(num_classes: int, per_class: int,
                          rng: np.random.Generator) -> np.ndarray:
    """``per_class`` labels of each class, shuffled (as CIFAR files are)."""
    labels = np.repeat(np.arange(num_classes), per_class)
    return labels[rng.permutation(len(labels))]


def _encoded_images(num: int, shape: Tuple[int, ...],
                    rng: np.random.Generator) -> np.ndarray:
    """Random uint8 images whose first three bytes spell their index."""
    imgs = rng.integers(0, 256, size=(num, ) + shape, dtype=np.uint8)
    flat = imgs.reshape(num, -1)
    idx = np.arange(num)
    flat[:, 0] = (idx >> 16) & 0xFF
    flat[:, 1] = (idx >> 8) & 0xFF
    flat[:, 2] = idx & 0xFF
    return imgs


def decode_index(img: np.ndarray, layout: str = 'hwc') -> int:
    """Position in its file of an image written by these generators.

    Args:
        img (np.ndarray): The image as a dataset returns it: (H, W, 3) for
            CIFAR (``layout='hwc'``; the index sits in the first three red
            pixels), (H, W) or (H, W, C) for Fashion-MNIST
            (``layout='gray'``; first three grey pixels).
        layout (str): ``'hwc'`` or ``'gray'``.

    Returns:
        int: The index written into the image.
    """
    if layout == 'hwc':
        b = img[0, :3, 0]
    else:
        b = img[0, :3] if img.ndim == 2 else img[0, :3, 0]
    b = b.astype(np.int64)
    return int((b[0] << 16) | (b[1] << 8) | b[2])


def write_cifar(root: str,
                num_classes: int = 100,
                per_class: int = 50,
                test_per_class: int = 10,
                variant: str = 'cifar100',
                seed: int = 0) -> str:
    """Write a small CIFAR in the python-pickle layout mmpretrain reads.

    ``variant='cifar100'`` writes ``root/cifar-100-python/{train, test,
    meta}`` (dicts with ``data`` uint8 (N, 3072) in R, G, B planes,
    ``fine_labels``, ``coarse_labels``, ``filenames``, ``batch_label``;
    ``meta`` with ``fine_label_names`` and ``coarse_label_names``).
    ``variant='cifar10'`` writes ``root/cifar-10-batches-py/{data_batch_1..5,
    test_batch, batches.meta}`` (``labels`` instead of ``fine_labels``;
    the training samples split over the five batches in order).

    The labels are shuffled with ``seed``; sample ``i`` of a split (in file
    order, batches concatenated) has ``i`` encoded in its first pixels, see
    :func:`decode_index`. The md5s differ from the official files: load with
    ``verify_md5=False`` (:class:`OfflineCIFAR100`).

    Args:
        root (str): Folder to write into (created if needed).
        num_classes (int): Number of classes. Defaults to 100.
        per_class (int): Training images per class. Defaults to 50.
        test_per_class (int): Test images per class. Defaults to 10.
        variant (str): ``'cifar100'`` or ``'cifar10'``.
        seed (int): Seed of labels order and pixels. Defaults to 0.

    Returns:
        str: ``root``, the ``data_root`` of the dataset.
    """
    if variant not in CIFAR_VARIANTS:
        raise ValueError(f'variant must be one of {CIFAR_VARIANTS}')
    rng = np.random.default_rng(seed)
    folder = osp.join(
        root, 'cifar-100-python' if variant == 'cifar100' else
        'cifar-10-batches-py')
    os.makedirs(folder, exist_ok=True)
    names = [f'class_{c}' for c in range(num_classes)]

    def split(n_per_class, tag):
        labels = _labels_in_file_order(num_classes, n_per_class, rng)
        data = _encoded_images(len(labels), (3072, ), rng)
        files = [f'{tag}_{i:06d}.png' for i in range(len(labels))]
        return labels, data, files

    def dump(path, obj):
        with open(path, 'wb') as f:
            pickle.dump(obj, f, protocol=2)

    train, test = split(per_class, 'train'), split(test_per_class, 'test')
    if variant == 'cifar100':
        for name, (labels, data, files) in (('train', train), ('test', test)):
            dump(
                osp.join(folder, name),
                dict(
                    filenames=files,
                    batch_label=f'{name} batch',
                    fine_labels=labels.tolist(),
                    coarse_labels=(labels % 20).tolist(),
                    data=data))
        dump(
            osp.join(folder, 'meta'),
            dict(
                fine_label_names=names,
                coarse_label_names=[f'super_{i}' for i in range(20)]))
    else:
        labels, data, files = train
        for b, part in enumerate(np.array_split(np.arange(len(labels)), 5)):
            dump(
                osp.join(folder, f'data_batch_{b + 1}'),
                dict(
                    batch_label=f'training batch {b + 1} of 5',
                    labels=labels[part].tolist(),
                    data=data[part],
                    filenames=[files[i] for i in part]))
        labels, data, files = test
        dump(
            osp.join(folder, 'test_batch'),
            dict(
                batch_label='testing batch 1 of 1',
                labels=labels.tolist(),
                data=data,
                filenames=files))
        dump(
            osp.join(folder, 'batches.meta'),
            dict(
                label_names=names,
                num_cases_per_batch=int(np.ceil(len(train[0]) / 5)),
                num_vis=3072))
    return root


def _write_idx_gz(path: str, array: np.ndarray) -> None:
    """One gzipped IDX file of unsigned bytes (magic 0x0000 08 ndim)."""
    header = bytes([0, 0, 0x08, array.ndim])
    for dim in array.shape:
        header += int(dim).to_bytes(4, 'big')
    with gzip.open(path, 'wb') as f:
        f.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def write_fashion_mnist_idx(root: str,
                            per_class: int = 20,
                            test_per_class: int = 5,
                            seed: int = 0) -> str:
    """Write Fashion-MNIST-format gzipped IDX files with the real names.

    Writes ``root/{train,t10k}-images-idx3-ubyte.gz`` ((N, 28, 28) uint8)
    and ``root/{train,t10k}-labels-idx1-ubyte.gz`` ((N, ) uint8), 10 classes,
    labels shuffled with ``seed``; image ``i`` encodes ``i``
    (:func:`decode_index` with ``layout='gray'``).

    Args:
        root (str): Folder to write into (created if needed).
        per_class (int): Training images per class. Defaults to 20.
        test_per_class (int): Test images per class. Defaults to 5.
        seed (int): Seed. Defaults to 0.

    Returns:
        str: ``root``, the ``data_root`` of :class:`FashionMNISTIDX`.
    """
    rng = np.random.default_rng(seed)
    os.makedirs(root, exist_ok=True)
    for prefix, n in (('train', per_class), ('t10k', test_per_class)):
        labels = _labels_in_file_order(10, n, rng).astype(np.uint8)
        images = _encoded_images(len(labels), (28, 28), rng)
        _write_idx_gz(osp.join(root, f'{prefix}-images-idx3-ubyte.gz'),
                      images)
        _write_idx_gz(osp.join(root, f'{prefix}-labels-idx1-ubyte.gz'),
                      labels)
    return root


def write_list_dataset(root: str,
                       ann_name: str,
                       counts: Sequence[int],
                       image_size: Union[int, Tuple[int, int]] = (16, 16),
                       img_dir: str = 'train',
                       seed: int = 0) -> List[Tuple[str, int]]:
    """Write images and a ``relative/path label`` list file.

    Class ``c`` gets ``counts[c]`` JPEG images
    ``root/<img_dir>/<c:05d>/<c:05d>_<k:05d>.jpg`` (random colour
    ``image_size``, (h, w)); the list file ``root/<ann_name>`` has one line
    per image, ``<img_dir>/<c:05d>/<c:05d>_<k:05d>.jpg c``, lines shuffled
    with ``seed``. Use ``data_root=root, ann_file=ann_name``.

    Args:
        root (str): Folder to write into (created if needed).
        ann_name (str): File name of the list, e.g.
            ``'ImageNet_LT_train.txt'``.
        counts (Sequence[int]): Images per class, class 0 first.
        image_size (int | tuple[int, int]): (h, w). Defaults to (16, 16).
        img_dir (str): Sub-folder of the images. Defaults to ``'train'``.
        seed (int): Seed. Defaults to 0.

    Returns:
        list[tuple[str, int]]: ``(relative path, label)`` in list order.
    """
    from PIL import Image

    if isinstance(image_size, int):
        image_size = (image_size, image_size)
    rng = np.random.default_rng(seed)
    entries = []
    for c, n in enumerate(counts):
        folder = osp.join(root, img_dir, f'{c:05d}')
        os.makedirs(folder, exist_ok=True)
        for k in range(n):
            rel = f'{img_dir}/{c:05d}/{c:05d}_{k:05d}.jpg'
            pixels = rng.integers(
                0, 256, size=tuple(image_size) + (3, ), dtype=np.uint8)
            Image.fromarray(pixels).save(osp.join(root, rel), quality=90)
            entries.append((rel, c))
    entries = [entries[i] for i in rng.permutation(len(entries))]
    os.makedirs(root, exist_ok=True)
    with open(osp.join(root, ann_name), 'w') as f:
        f.writelines(f'{rel} {label}\n' for rel, label in entries)
    return entries


def redirect_data_root(cfg, data_root: str, verify_md5: bool = False):
    """Point every dataset of a config's dataloaders at ``data_root``.

    Walks ``train_dataloader``, ``val_dataloader`` and ``test_dataloader``
    (through wrappers' nested ``dataset`` / ``datasets``) and replaces each
    ``data_root``. Datasets of type ``OfflineCIFAR10`` / ``OfflineCIFAR100``
    also get ``verify_md5`` (False by default: generated files cannot match
    the official md5s).

    Args:
        cfg (mmengine.Config): The config, modified in place.
        data_root (str): The new root.
        verify_md5 (bool): Value for the CIFAR datasets. Defaults to False.

    Returns:
        mmengine.Config: ``cfg``.
    """

    def visit(ds):
        if ds is None:
            return
        if isinstance(ds, (list, tuple)):
            for d in ds:
                visit(d)
            return
        if 'data_root' in ds:
            ds['data_root'] = data_root
        if ds.get('type') in ('OfflineCIFAR10', 'OfflineCIFAR100'):
            ds['verify_md5'] = verify_md5
        visit(ds.get('dataset'))
        visit(ds.get('datasets'))

    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        if cfg.get(key) is not None:
            visit(cfg[key].get('dataset'))
    return cfg


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return (struct.pack('>I', len(data)) + kind + data +
            struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))


def write_huge_png(path, width: int = 20000, height: int = 20000) -> int:
    """Write a black 1-bit grayscale PNG of ``width`` x ``height`` pixels,
    compressing it row by row (a few hundred KB at most for 20000 x 20000);
    return the file size."""
    row = b'\x00' * (1 + (width + 7) // 8)  # filter byte + packed bits
    comp = zlib.compressobj(9)
    idat = bytearray()
    for _ in range(height):
        idat += comp.compress(row)
    idat += comp.flush()
    header = struct.pack('>IIBBBBB', width, height, 1, 0, 0, 0, 0)
    data = (b'\x89PNG\r\n\x1a\n' + _png_chunk(b'IHDR', header) +
            _png_chunk(b'IDAT', bytes(idat)) + _png_chunk(b'IEND', b''))
    with open(path, 'wb') as f:
        f.write(data)
    return len(data)
