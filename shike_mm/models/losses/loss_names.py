# Copyright (c) shike-mm contributors. All rights reserved.
import re

import torch.nn as nn

from ...protocols import NamedLoss

#: Short keys for losses of other libraries, by class name.
_KNOWN_KEYS = {'CrossEntropyLoss': 'loss_ce'}


def loss_key(module: nn.Module) -> str:
    """The key under which a head logs ``module``'s value.

    The ``loss_name`` of a :class:`~shike_mm.protocols.NamedLoss` (the
    losses of this package: ``loss_dkt``, ``loss_mutual``, ``loss_bsce``
    ...), else a short key for well-known losses (``CrossEntropyLoss`` ->
    ``loss_ce``), else the class name in snake case without the ``Loss`` suffix
    (``FocalLoss`` -> ``loss_focal``). mmengine sums every key starting
    with ``loss`` into the total.

    Args:
        module (nn.Module): A built loss module.

    Returns:
        str: A key starting with ``loss_``.
    """
    if isinstance(module, NamedLoss) and module.loss_name:
        return module.loss_name
    cls_name = type(module).__name__
    if cls_name in _KNOWN_KEYS:
        return _KNOWN_KEYS[cls_name]
    stem = re.sub(r'Loss$', '', cls_name) or cls_name
    snake = re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_',
                   stem).lower()
    return f'loss_{snake}'
