# Copyright (c) shike-mm contributors. All rights reserved.
"""shike-mm: long-tailed recognition (SHIKE, RIDE, baselines) for mmpretrain.

Importing the package registers every component into mmpretrain's registries
(``MODELS``, ``DATASETS``, ``DATA_SAMPLERS``, ``TRANSFORMS``, ``HOOKS``,
``METRICS``, ``PARAM_SCHEDULERS``, ``RUNNERS``, ``MODEL_WRAPPERS``) and
allow-lists the globals that mmengine checkpoints need for ``weights_only``
loading, and registers the model index (``model-index.yml``) with
mmpretrain's model hub, so that ``mmpretrain.get_model`` and
``mmpretrain.inference_model`` know the configs by name. Configs load it with::

    custom_imports = dict(imports=['shike_mm'], allow_failed_imports=False)

mmcv-lite (the supported mmcv here) has no compiled ops, and mmcv warns
about the one it cannot import (``MultiScaleDeformableAttention``, which no
component of shike-mm uses) whenever mmpretrain's models are imported; that
one warning is filtered, nothing else.

Imported before torch, it also bounds how long OpenMP threads spin at a
barrier (``GOMP_SPINCOUNT=30000`` unless the user set a wait setting;
:mod:`shike_mm.utils.omp_env`), so that training slows in proportion when
other processes share the CPU.
"""
import warnings

from .utils.omp_env import apply_omp_defaults

# before anything loads torch: libgomp reads its wait setting then
apply_omp_defaults()

warnings.filterwarnings(
    'ignore',
    message=r'Fail to import ``MultiScaleDeformableAttention``',
    category=UserWarning)

from .engine.checkpoint import register_checkpoint_safe_globals  # noqa: E402,E501
from .version import __version__  # noqa: E402

from . import datasets  # noqa: F401,E402
from . import engine  # noqa: F401,E402
from . import evaluation  # noqa: F401,E402
from . import models  # noqa: F401,E402

from .apis import register_model_index  # noqa: E402

register_checkpoint_safe_globals()
register_model_index()

__all__ = ['__version__', 'register_checkpoint_safe_globals']
