# Copyright (c) shike-mm contributors. All rights reserved.
import logging
import os.path as osp
from typing import List, Optional

import numpy as np
from mmengine.dataset import force_full_init
from mmengine.fileio import exists, list_from_file
from mmengine.logging import print_log

from mmpretrain.datasets import CustomDataset
from mmpretrain.registry import DATASETS


@DATASETS.register_module()
class LongTailListDataset(CustomDataset):
    """A long-tailed benchmark read from a list file.

    The list file holds one ``relative/path label`` per line; the path is
    relative to ``data_prefix`` (by default ``data_root``)::

        train/n01440764/n01440764_10026.JPEG 0
        train/n01443537/n01443537_10007.JPEG 1

    Parsing is mmpretrain's :class:`CustomDataset` (``ann_file`` mode). On
    top of it this class

    - checks every label lies in ``[0, num_classes)``, ``num_classes`` being
      the length of ``metainfo['classes']``; a bad or malformed line, a
      duplicate line (paths compared normalised), a label that is not ASCII
      digits, an empty list, a UTF-8 byte-order mark and a byte that is
      not UTF-8 are errors that name the file and the line; paths leaving
      the image folder (absolute, ``..``) are reported once, with their
      count; a training list leaving classes
      without images is reported (a warning naming them);
    - raises ``FileNotFoundError`` naming the image path when a listed image
      is missing at load time (paths are not checked up front: the lists
      hold up to ~440 K entries);
    - exposes :attr:`class_counts`, the number of images of every class,
      and :meth:`get_gt_labels`, both from labels read once, off the data
      list as it is loaded (before mmengine serialises it), and read again
      only when the data list changes (``full_init``, ``get_subset_``).

    Subclasses set ``METAINFO``; this class may be used directly with
    ``metainfo=dict(classes=...)`` or ``classes=<file of names>``.

    Args:
        ann_file (str): The list file, relative to ``data_root`` unless
            absolute.
        data_root (str): Root of the list file and of the images.
            Defaults to ''.
        data_prefix (str | dict): Folder of the images, relative to
            ``data_root``. Defaults to '' (``data_root`` itself).
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CustomDataset`
            (``pipeline``, ``metainfo``, ``test_mode``, ``lazy_init``, ...).
    """

    def __init__(self,
                 ann_file: str,
                 data_root: str = '',
                 data_prefix='',
                 **kwargs):
        if not ann_file:
            raise ValueError(f'{type(self).__name__}: ann_file (the '
                             '`relative/path label` list file) must be set')
        if not kwargs.pop('with_label', True):
            raise ValueError(f'{type(self).__name__}: list files of the '
                             'long-tail benchmarks carry labels; '
                             'with_label=False is not supported.')
        super().__init__(
            ann_file=ann_file,
            data_root=data_root,
            data_prefix=data_prefix,
            **kwargs)

    @property
    def num_classes(self) -> int:
        """int: Number of classes declared in ``metainfo``."""
        return len(self.CLASSES)

    def load_data_list(self) -> List[dict]:
        """Parse the list file and validate its labels."""
        cls = type(self).__name__
        if not exists(self.ann_file):
            raise FileNotFoundError(
                f'{cls}: list file {self.ann_file} does not exist (expected '
                'one `relative/path label` per line under data_root '
                f"'{self.data_root}').")
        self._check_encoding()
        self._check_lines()
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'{cls}: list file {self.ann_file} is empty '
                             '(no `relative/path label` lines).')
        first_line = {}
        for lineno, info in enumerate(data_list, start=1):
            # ``train/./c0/0.png`` and ``train//c0/0.png`` name one image
            seen = first_line.setdefault(osp.normpath(info['img_path']),
                                         lineno)
            if seen != lineno:
                raise ValueError(
                    f'{cls}: {self.ann_file}, line {lineno}: duplicate of '
                    f"line {seen} (image '{info['img_path']}'); each image "
                    'must be listed once, or its class counts double.')
        if self.CLASSES is None:
            raise ValueError(
                f'{cls}: the number of classes is unknown; give '
                '`metainfo=dict(classes=...)` or `classes=`.')
        num_classes = len(self.CLASSES)
        for lineno, info in enumerate(data_list, start=1):
            label = info['gt_label']
            if not 0 <= label < num_classes:
                raise ValueError(
                    f'{cls}: {self.ann_file}, line {lineno}: label {label} '
                    f'is outside [0, {num_classes}) '
                    f"(image '{info['img_path']}').")
        self._warn_outside_root(data_list)
        if not self.test_mode:
            counts = np.bincount([info['gt_label'] for info in data_list],
                                 minlength=num_classes)
            empty = np.flatnonzero(counts == 0).tolist()
            if empty:
                # Reported, not refused: subsets of the benchmarks (and
                # tests) legitimately leave classes out.
                more = f' (and {len(empty) - 10} more)' if len(
                    empty) > 10 else ''
                print_log(
                    f'{cls}: {self.ann_file} lists no image of '
                    f'{len(empty)} of its {num_classes} classes: '
                    f'{empty[:10]}{more}. They are never trained; '
                    'class-count based losses and the many / medium / few '
                    'groups treat them as 0-image classes.',
                    logger='current', level=logging.WARNING)
        return data_list

    def _check_encoding(self) -> None:
        """Refuse a list file that starts with a UTF-8 byte-order mark (it
        would become part of the first image path) or is not UTF-8 (a
        Latin-1 byte), naming the line."""
        if '://' in str(self.ann_file):
            return
        with open(self.ann_file, 'rb') as f:
            raw = f.read()
        if raw.startswith(b'\xef\xbb\xbf'):
            raise ValueError(
                f'{type(self).__name__}: {self.ann_file}, line 1: starts '
                'with a UTF-8 byte-order mark (BOM), which would become part '
                'of the first image path; save the file as UTF-8 without '
                'BOM.')
        try:
            raw.decode('utf-8')
        except UnicodeDecodeError as err:
            lineno = raw.count(b'\n', 0, err.start) + 1
            raise ValueError(
                f'{type(self).__name__}: {self.ann_file}, line {lineno}: '
                f'byte {raw[err.start:err.start + 1]!r} is not UTF-8 (a '
                'Latin-1 or other 8-bit encoding?); save the list as '
                'UTF-8.') from None

    def _check_lines(self) -> None:
        """Refuse the first line that is not ``path label`` with a label of
        ASCII decimal digits (``int()`` would also read ``0_1``, ``+2`` or
        ``\u0663`` as numbers)."""
        for lineno, line in enumerate(list_from_file(self.ann_file), 1):
            parts = line.strip().rsplit(' ', 1)
            # a '-' is let through for the range check to name the label
            digits = parts[-1][1:] if parts[-1][:1] == '-' else parts[-1]
            if not (len(parts) == 2 and parts[0] and digits.isascii()
                    and digits.isdigit()):
                raise ValueError(
                    f'{type(self).__name__}: {self.ann_file}, line {lineno}: '
                    'expected `relative/path label` with a label of ASCII '
                    f'digits 0-9, got {line!r}.')

    def _warn_outside_root(self, data_list: List[dict]) -> None:
        """Warn once when listed paths are absolute or climb out of the
        image folder with ``..``: a list from elsewhere would read files
        anywhere on the machine."""
        root = self.data_prefix.get('img_path', '') or self.data_root or ''
        if '://' in str(root):
            return
        root = osp.normpath(osp.abspath(root))
        outside = [info['img_path'] for info in data_list
                   if not osp.normpath(osp.abspath(info['img_path'])
                                       ).startswith(root + osp.sep)]
        if outside:
            print_log(
                f'{type(self).__name__}: {self.ann_file} lists '
                f'{len(outside)} image(s) outside the image folder {root} '
                f"(absolute paths or '..'), e.g. '{outside[0]}'; they are "
                'read from there.', logger='current', level=logging.WARNING)

    def prepare_data(self, idx: int):
        """Run the pipeline on sample ``idx``, after checking its image
        exists (local paths only)."""
        data_info = self.get_data_info(idx)
        img_path = data_info.get('img_path')
        if (img_path is not None and '://' not in str(img_path)
                and not osp.exists(img_path)):
            raise FileNotFoundError(
                f'{type(self).__name__}: image {img_path} (sample {idx}, '
                f'listed in {self.ann_file}) does not exist.')
        return self.pipeline(data_info)

    def filter_data(self) -> List[dict]:
        """mmpretrain's filter, then the labels of the kept samples are
        read off the data list (a view of plain dicts, before mmengine
        serialises it), so that counting them later costs no
        ``get_data_info`` per sample."""
        data_list = super().filter_data()
        self._loaded_labels = np.fromiter(
            (info['gt_label'] for info in data_list),
            dtype=np.int64,
            count=len(data_list))
        return data_list

    def full_init(self) -> None:
        """mmengine's ``full_init``; the labels read in :meth:`filter_data`
        become the label cache of the data list it leaves."""
        if self._fully_initialized:
            return
        self._loaded_labels = None
        super().full_init()
        labels, self._loaded_labels = self._loaded_labels, None
        # ``indices`` re-slices the list after filter_data: count lazily.
        self._set_label_cache(labels if self._indices is None else None)

    def get_subset_(self, indices) -> None:
        """mmengine's in-place subset; the label cache follows the new
        data list (recounted on first use)."""
        super().get_subset_(indices)
        self._set_label_cache(None)

    def get_subset(self, indices) -> 'LongTailListDataset':
        """mmengine's subset copy, with its own label cache."""
        subset = super().get_subset(indices)
        subset._set_label_cache(None)
        return subset

    def _set_label_cache(self, labels: Optional[np.ndarray]) -> None:
        if labels is not None:
            labels.setflags(write=False)
        self._label_cache = labels
        self._counts_cache = None

    @force_full_init
    def _cached_labels(self) -> np.ndarray:
        """The labels of the current data list: read when it is loaded
        (:meth:`filter_data`), else once here.

        Returns:
            np.ndarray: Read-only, shape (N, ), int64.
        """
        labels = getattr(self, '_label_cache', None)
        if labels is None or len(labels) != len(self):
            self._set_label_cache(
                np.array([
                    self.get_data_info(i)['gt_label']
                    for i in range(len(self))
                ],
                         dtype=np.int64))
        return self._label_cache

    def get_gt_labels(self) -> np.ndarray:
        """Labels of all samples, from the cache (read once per data list,
        when it is loaded).

        Returns:
            np.ndarray: Labels of shape (N, ), dtype int64 (a copy).
        """
        return self._cached_labels().copy()

    @property
    def class_counts(self) -> List[int]:
        """list[int]: Images per class, length ``num_classes``; counted
        once per data list."""
        labels = self._cached_labels()
        if getattr(self, '_counts_cache', None) is None:
            self._counts_cache = np.bincount(
                labels, minlength=self.num_classes).tolist()
        return list(self._counts_cache)
