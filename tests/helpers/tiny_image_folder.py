# Copyright (c) shike-mm contributors. All rights reserved.
"""A tiny, learnable image-folder dataset for end-to-end tool tests."""
from pathlib import Path

import cv2
import numpy as np


def write_image_folder(root, num_classes=4, train_per_class=12,
                       val_per_class=4, size=16, seed=0):
    """Write ``root/{train,val}/class{c}/{i}.png``: noise plus a
    class-dependent colour, so a small CNN separates the classes quickly.

    Returns:
        Path: ``root``.
    """
    rng = np.random.default_rng(seed)
    root = Path(root)
    for split, n in (('train', train_per_class), ('val', val_per_class)):
        for c in range(num_classes):
            folder = root / split / f'class{c}'
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
                img[..., c % 3] += np.uint8(120 + 40 * (c // 3))
                cv2.imwrite(str(folder / f'{i}.png'), img)
    return root
