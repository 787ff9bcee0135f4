# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Optional

from mmengine.fileio import exists, join_path

from mmpretrain.datasets import CIFAR10, CIFAR100
from mmpretrain.datasets.utils import check_md5
from mmpretrain.registry import DATASETS


class _OfflineCIFARMixin:
    """Shared logic of :class:`OfflineCIFAR10` and :class:`OfflineCIFAR100`.

    mmpretrain's loaders download the archive when a file is missing and,
    with ``download=False``, fail with a generic message. They also compare
    every file with the md5 of the official archive, so generated test data
    (same format, other bytes) cannot be read. Here the expected files are
    checked first and a missing one is reported by name; the md5 check stays
    on by default and is switched off with ``verify_md5=False`` by clearing
    the md5 entries of this *instance* (the hook mmpretrain itself honours:
    an md5 of ``None`` is not checked).
    """

    def __init__(self,
                 data_root: str = '',
                 split: str = 'train',
                 verify_md5: bool = True,
                 download: bool = False,
                 metainfo: Optional[dict] = None,
                 **kwargs):
        self._init_offline(verify_md5, download)
        super().__init__(
            data_root=data_root,
            split=split,
            metainfo=metainfo,
            download=False,
            **kwargs)

    def _init_offline(self, verify_md5: bool, download: bool) -> None:
        if download:
            raise ValueError(
                f'{type(self).__name__} never downloads; fetch '
                f'{self.url} yourself and extract it under `data_root`.')
        self.verify_md5 = verify_md5
        self._integrity_checked = False
        if not verify_md5:
            cls = type(self)
            self.train_list = [[name, None] for name, _ in cls.train_list]
            self.test_list = [[name, None] for name, _ in cls.test_list]
            self.meta = dict(cls.meta, md5=None)

    def _check_integrity(self) -> bool:
        """Check that every file of the extracted archive is present (and,
        with ``verify_md5=True``, intact). Raises instead of returning False
        so that the error names the files."""
        if self._integrity_checked:
            return True
        folder = join_path(self.data_prefix['root'], self.base_folder)
        entries = self.train_list + self.test_list
        expected = [name for name, _ in entries] + [self.meta['filename']]
        missing = [
            name for name in expected if not exists(join_path(folder, name))
        ]
        if missing:
            raise FileNotFoundError(
                f'{type(self).__name__}: {folder} does not hold the '
                f'extracted {self.filename}. Missing: {missing}. Expected '
                f'files: {expected}. Nothing is downloaded; get the archive '
                f'from {self.url} and extract it under data_root '
                f"('{self.data_prefix['root']}').")
        for name, md5 in entries:
            path = join_path(folder, name)
            if md5 is not None and not check_md5(path, md5):
                raise RuntimeError(
                    f'{type(self).__name__}: md5 of {path} is not {md5} (the '
                    'official file). Re-extract the archive, or pass '
                    'verify_md5=False for generated / modified data.')
        self._integrity_checked = True
        return True


@DATASETS.register_module()
class OfflineCIFAR10(_OfflineCIFARMixin, CIFAR10):
    """mmpretrain's :class:`CIFAR10` that never downloads.

    It reads the python-version pickles ``cifar-10-batches-py/
    {data_batch_1..5, test_batch, batches.meta}`` under ``data_root`` with
    mmpretrain's own loader. A missing file is an error that lists the
    expected file names.

    Args:
        data_root (str): Folder that holds ``cifar-10-batches-py/``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        verify_md5 (bool): Compare every file with the official md5.
            Defaults to True; generated data needs False.
        download (bool): Must be False; kept for config compatibility with
            mmpretrain's class. Defaults to False.
        metainfo (dict, optional): Meta information. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR10`.
    """


@DATASETS.register_module()
class OfflineCIFAR100(_OfflineCIFARMixin, CIFAR100):
    """mmpretrain's :class:`CIFAR100` that never downloads.

    It reads the python-version pickles ``cifar-100-python/{train, test,
    meta}`` under ``data_root`` with mmpretrain's own loader (fine labels).
    A missing file is an error that lists the expected file names.

    Args:
        data_root (str): Folder that holds ``cifar-100-python/``.
        split (str): ``'train'`` or ``'test'``. Defaults to ``'train'``.
        verify_md5 (bool): Compare every file with the official md5.
            Defaults to True; generated data needs False.
        download (bool): Must be False; kept for config compatibility with
            mmpretrain's class. Defaults to False.
        metainfo (dict, optional): Meta information. Defaults to None.
        **kwargs: Other arguments of :class:`mmpretrain.datasets.CIFAR100`.
    """
