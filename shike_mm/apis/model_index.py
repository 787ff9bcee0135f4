# Copyright (c) shike-mm contributors. All rights reserved.
"""Registers shike-mm's model index with mmpretrain's model hub.

After ``import shike_mm`` the configs of ``model-index.yml`` (one
``metafile.yml`` per config folder) are known to mmpretrain by name::

    import mmpretrain, shike_mm
    mmpretrain.list_models('shike*')
    model = mmpretrain.get_model('shike_r32_cifar100-lt-r100')
    mmpretrain.inference_model(model, 'demo.png')

The index is looked up next to the package (an editable install or a
source checkout: ``<repo>/model-index.yml``) and inside it
(``shike_mm/.mim/model-index.yml``, where a packaged copy would put it).
"""
from pathlib import Path
from typing import Optional

MODEL_INDEX = 'model-index.yml'

_registered: Optional[Path] = None


def find_model_index() -> Optional[Path]:
    """The ``model-index.yml`` of this installation, or None.

    Returns:
        Path | None: The file; None if the configs were not installed.
    """
    package = Path(__file__).resolve().parents[1]
    for root in (package / '.mim', package.parent):
        path = root / MODEL_INDEX
        if path.is_file():
            return path
    return None


def register_model_index() -> Optional[Path]:
    """Register shike-mm's models with :class:`mmpretrain.apis.ModelHub`.

    Config paths in the index are relative to the index's folder. Calling
    it again is a no-op.

    Returns:
        Path | None: The index registered; None if none was found.
    """
    global _registered
    if _registered is not None:
        return _registered
    path = find_model_index()
    if path is None:
        return None
    from mmpretrain.apis import ModelHub
    ModelHub.register_model_index(path, config_prefix=path.parent)
    _registered = path
    return path
