# Copyright (c) shike-mm contributors. All rights reserved.
from typing import Sequence, Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness

from mmpretrain.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomCutout(BaseTransform):
    """Cutout (DeVries & Taylor, 2017): square holes of a constant value,
    centred anywhere in the image and clipped at the border.

    For each hole a centre ``(cy, cx)`` is drawn uniformly from the integer
    pixel positions of the image; the hole covers rows
    ``[max(cy - size // 2, 0), min(cy + size // 2, H))`` and the matching
    columns, so near the border only part of it lies inside the image.

    mmpretrain's ``Cutout`` is not this: it shifts the patch to stay inside
    the top / left border (``mmcv.cutout``), fills 128 by default and is
    applied with probability 0.5.

    The reference zeroes the [0, 1] float tensor before normalisation;
    zeroing the uint8 image before the data preprocessor normalises is the
    same operation.

    **Required Keys:** ``img``

    **Modified Keys:** ``img``

    Args:
        size (int | tuple[int, int]): Hole height and width. Defaults to 16.
        num_holes (int): Number of holes. Defaults to 1.
        pad_val (int | float | Sequence): Fill value, a number or one value
            per channel. Defaults to 0.
        prob (float): Probability of applying the transform. Defaults to 1.
    """

    def __init__(self,
                 size: Union[int, Tuple[int, int]] = 16,
                 num_holes: int = 1,
                 pad_val: Union[int, float, Sequence] = 0,
                 prob: float = 1.0):
        if isinstance(size, int):
            size = (size, size)
        if len(size) != 2 or min(size) < 1:
            raise ValueError(f'RandomCutout: size must be a positive int or '
                             f'(h, w), got {size!r}')
        if num_holes < 1:
            raise ValueError('RandomCutout: num_holes must be >= 1, got '
                             f'{num_holes!r}')
        if not 0 <= prob <= 1:
            raise ValueError(f'RandomCutout: prob must be in [0, 1], got '
                             f'{prob!r}')
        self.size = tuple(size)
        self.num_holes = num_holes
        self.pad_val = tuple(pad_val) if isinstance(pad_val,
                                                    Sequence) else pad_val
        self.prob = prob

    @cache_randomness
    def _random_centres(self, height: int, width: int) -> np.ndarray:
        """Whether to apply, and the hole centres, shape (num_holes, 2)."""
        if np.random.rand() >= self.prob:
            return None
        ys = np.random.randint(height, size=self.num_holes)
        xs = np.random.randint(width, size=self.num_holes)
        return np.stack([ys, xs], axis=1)

    def transform(self, results: dict) -> dict:
        """Cut the holes out of ``results['img']`` (a copy is modified)."""
        img = results['img']
        height, width = img.shape[:2]
        centres = self._random_centres(height, width)
        if centres is None:
            return results
        img = img.copy()
        half_h, half_w = self.size[0] // 2, self.size[1] // 2
        for cy, cx in centres:
            y1, y2 = max(cy - half_h, 0), min(cy + self.size[0] - half_h,
                                              height)
            x1, x2 = max(cx - half_w, 0), min(cx + self.size[1] - half_w,
                                              width)
            img[y1:y2, x1:x2, ...] = self.pad_val
        results['img'] = img
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(size={self.size}, '
                f'num_holes={self.num_holes}, pad_val={self.pad_val}, '
                f'prob={self.prob})')
