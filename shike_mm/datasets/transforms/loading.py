# Copyright (c) shike-mm contributors. All rights reserved.
"""Image loading with a bound on the decoded size.

A compressed image can declare far more pixels than its file size
suggests: a 388 KB PNG of 20000 x 20000 pixels decodes to 1.2 GB (3.0 GB
peak in a data-loader worker). OpenCV, mmcv's default decoder, ignores
PIL's ``Image.MAX_IMAGE_PIXELS``, so every such file is decoded in full.
:class:`LoadImageFromFileBounded` reads the width and height from the
image header first (PIL's lazy ``Image.open``, which does not decode) and
refuses an image above ``max_pixels``, naming the file.

Every failure to decode an image (an empty file, bytes that are no image)
is a ``ValueError`` naming the file: :func:`undecodable` builds it, for
:class:`LoadImageFromFileBounded` and for :class:`LoadImageFromFileNamed`,
which takes the place of mmcv's ``LoadImageFromFile`` in mmpretrain's
registry (OpenCV's own error, ``!buf.empty()``, names no file).
"""
import io
import os.path as osp
import re
import warnings
from typing import Optional, Tuple

import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile
from PIL import Image

from mmpretrain.registry import TRANSFORMS

#: PIL's own default for ``Image.MAX_IMAGE_PIXELS`` (about 0.25 GB of
#: 24-bit pixels, e.g. 9459 x 9459); the datasets' images are far smaller.
DEFAULT_MAX_PIXELS = int(1024 * 1024 * 1024 // 4 // 3)

_BOMB_PIXELS = re.compile(r'Image size \((\d+) pixels\)')


def _size_past_pil_limit(img_bytes: bytes) -> Optional[Tuple[int, int]]:
    """``(width, height)`` from PIL's format plugins directly, without the
    decompression-bomb check of ``Image.open`` (which reports only the
    pixel count); None if no plugin reads the header."""
    Image.init()
    prefix = img_bytes[:16]
    for fmt in list(Image.ID):
        factory, accept = Image.OPEN[fmt]
        try:
            accepted = accept is None or accept(prefix)
            if not accepted or isinstance(accepted, str):  # str: a warning
                continue
            return factory(io.BytesIO(img_bytes)).size
        except Exception:
            continue
    return None


def header_image_size(img_bytes: bytes) -> Optional[Tuple[int, int]]:
    """Width and height declared by an image's header, without decoding.

    Args:
        img_bytes (bytes): The encoded image (JPEG, PNG, BMP, TIFF, WebP,
            GIF ... whatever PIL identifies).

    Returns:
        tuple[int, int] | None: ``(width, height)``; ``(pixels, 1)`` in the
        unlikely case that PIL refuses the header as a decompression bomb
        and no plugin reads it directly; None when PIL cannot identify the
        format (the decoder then decides, as without the bound).
    """
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(img_bytes)) as img:
                return img.size
        except Image.DecompressionBombError as e:
            # above 2 x Image.MAX_IMAGE_PIXELS PIL raises before giving the
            # size; ask the plugins, else take the count from the message
            size = _size_past_pil_limit(img_bytes)
            if size is not None:
                return size
            match = _BOMB_PIXELS.search(str(e))
            pixels = int(match.group(1)) if match else \
                2 * (Image.MAX_IMAGE_PIXELS or 0) + 1
            return pixels, 1
        except Exception:  # not identified / corrupt: left to the decoder
            return None


def undecodable(filename: str, img_bytes: Optional[bytes],
                error: Optional[BaseException] = None) -> ValueError:
    """The error for an image file that does not decode.

    Args:
        filename (str): The image's path.
        img_bytes (bytes, optional): What was read from it.
        error (Exception, optional): The decoder's own error.

    Returns:
        ValueError: naming the file, its size and the decoder's reason.
    """
    size = len(img_bytes) if img_bytes is not None else (
        osp.getsize(filename) if osp.isfile(filename) else None)
    if size == 0:
        what = 'is empty (0 bytes)'
    elif size is None:
        what = 'is not a decodable image'
    else:
        what = f'({size} bytes) is not a decodable image'
    reason = '' if error is None or size == 0 else \
        f' (decoder: {str(error).strip().splitlines()[-1][:160]})'
    return ValueError(
        f'{filename} {what}{reason}: an interrupted copy or download? '
        'Replace the file, or remove its line from the list.')


@TRANSFORMS.register_module(name='LoadImageFromFile', force=True)
class LoadImageFromFileNamed(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` whose decoding errors name the file.

    Images that decode are loaded by ``LoadImageFromFile`` itself, so the
    results are identical; a file that does not decode is a ``ValueError``
    naming it (:func:`undecodable`), unless ``ignore_empty=True``, which
    skips it as before. Registered in mmpretrain's ``TRANSFORMS`` under
    ``LoadImageFromFile``, so configs need no change.
    """

    def transform(self, results: dict) -> Optional[dict]:
        try:
            out = super().transform(results)
        except (FileNotFoundError, PermissionError, IsADirectoryError):
            raise
        except AssertionError as err:  # mmcv asserts the decoded image
            raise undecodable(results['img_path'], None) from err
        except Exception as err:
            raise undecodable(results['img_path'], None, err) from err
        return out


@TRANSFORMS.register_module()
class LoadImageFromFileBounded(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile``, refusing images whose header declares
    more than ``max_pixels`` pixels before they are decoded.

    Images within the bound are decoded exactly as by
    ``LoadImageFromFile`` (same bytes, same ``mmcv.imfrombytes`` call), so
    the results are identical. The header is read with PIL, which does
    not decode pixel data; formats PIL cannot identify are passed to the
    decoder unchecked.

    Required Keys:

    - img_path

    Modified Keys:

    - img
    - img_shape
    - ori_shape

    Args:
        max_pixels (int, optional): Largest width x height accepted.
            Defaults to 89,478,485, PIL's default ``MAX_IMAGE_PIXELS``.
            None disables the bound.
        **kwargs: Arguments of ``LoadImageFromFile`` (``to_float32``,
            ``color_type``, ``imdecode_backend``, ``ignore_empty``,
            ``backend_args``).

    An image declaring more than ``max_pixels`` pixels is a
    ``ValueError`` naming the file, its size and the bound, also with
    ``ignore_empty=True`` (which concerns missing or unreadable files).

    Example:
        >>> pipeline = [dict(type='LoadImageFromFileBounded',
        ...                  max_pixels=50_000_000), ...]
    """

    def __init__(self,
                 max_pixels: Optional[int] = DEFAULT_MAX_PIXELS,
                 **kwargs) -> None:
        if max_pixels is not None and (isinstance(max_pixels, bool)
                                       or not isinstance(max_pixels, int)
                                       or max_pixels < 1):
            raise ValueError(
                'LoadImageFromFileBounded: max_pixels must be a whole number '
                f'>= 1 or None (no bound), got {max_pixels!r}')
        super().__init__(**kwargs)
        self.max_pixels = max_pixels

    def _get_bytes(self, filename: str) -> bytes:
        if self.file_client_args is not None:
            file_client = fileio.FileClient.infer_client(
                self.file_client_args, filename)
            return file_client.get(filename)
        return fileio.get(filename, backend_args=self.backend_args)

    def check_size(self, img_bytes: bytes, filename: str) -> None:
        """Raise ``ValueError`` if the header of ``img_bytes`` declares
        more than ``max_pixels`` pixels."""
        if self.max_pixels is None:
            return
        size = header_image_size(img_bytes)
        if size is None or size[0] * size[1] <= self.max_pixels:
            return
        width, height = size
        pixels = width * height
        shape = f'{pixels} pixels' if height == 1 else \
            f'{width}x{height} = {pixels} pixels'
        raise ValueError(
            f'{filename}: the image is {shape} ({len(img_bytes)} bytes on '
            f'disk), more than max_pixels={self.max_pixels} of '
            f'{type(self).__name__}; decoding it would take about '
            f'{pixels * 3 / 2**30:.1f} GiB. Not decoded. Remove or shrink '
            'the image, or raise max_pixels (None: no bound) in the '
            'pipeline if such images are expected.')

    def transform(self, results: dict) -> Optional[dict]:
        """Load the image of ``results['img_path']`` after checking its
        declared size.

        Args:
            results (dict): Result dict from the dataset.

        Returns:
            dict | None: ``results`` with ``img``, ``img_shape`` and
            ``ori_shape``; None for an unreadable file with
            ``ignore_empty=True``.
        """
        filename = results['img_path']
        try:
            img_bytes = self._get_bytes(filename)
        except Exception:
            if self.ignore_empty:
                return None
            raise
        self.check_size(img_bytes, filename)
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type, backend=self.imdecode_backend)
        except Exception as err:
            if self.ignore_empty:
                return None
            raise undecodable(filename, img_bytes, err) from err
        if img is None:
            raise undecodable(filename, img_bytes)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f', max_pixels={self.max_pixels})'
