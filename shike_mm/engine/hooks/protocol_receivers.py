# Copyright (c) shike-mm contributors. All rights reserved.
"""Find the components of a model that implement a protocol."""
from typing import List, Tuple

import torch.nn as nn
from mmengine.model import is_model_wrapper


def outermost_instances(model: nn.Module,
                        protocol: type) -> List[Tuple[str, nn.Module]]:
    """The submodules of ``model`` that are instances of ``protocol`` and
    lie inside no other instance of it, in ``named_modules`` order.

    A component that contains another implementer of the same protocol
    (``RIDELoss`` holds an ``LDAMLoss``) passes what it receives on to it,
    so a hook calls only the outermost one and every implementer is
    reached exactly once.

    Args:
        model (nn.Module): The model, or a model wrapper around it.
        protocol (type): A class of :mod:`shike_mm.protocols`.

    Returns:
        list[tuple[str, nn.Module]]: ``('model.<name>', module)`` pairs
        (``'model'`` for the model itself).
    """
    if is_model_wrapper(model):
        model = model.module
    found = []

    def visit(name: str, module: nn.Module) -> None:
        if isinstance(module, protocol):
            found.append((f'model.{name}' if name else 'model', module))
            return
        for child_name, child in module.named_children():
            visit(f'{name}.{child_name}' if name else child_name, child)

    visit('', model)
    return found
