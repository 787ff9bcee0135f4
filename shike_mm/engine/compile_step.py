# Copyright (c) shike-mm contributors. All rights reserved.
"""Compile the loss forward of ``train_step``, not the optimizer wrapper.

mmengine's runner compiles the whole ``model.train_step`` when a config
sets ``compile``. That region includes :class:`~mmengine.optim.OptimWrapper`
bookkeeping: ``optim_context`` and ``update_params`` read the wrapper's
iteration counter ``_inner_count`` (``should_sync`` / ``should_update``).
With ``compile=dict(dynamic=False)`` Dynamo guards on that integer as a
constant, so every training step fails the guard and recompiles
``train_step`` until ``torch._dynamo.config.recompile_limit`` (8) is hit,
after which the outer frame runs uncompiled. The optimizer step itself is
traced too, and recompiles once when SGD's momentum buffers appear.

:func:`compile_train_step` compiles only what benefits from it, the model's
``_run_forward(data, mode='loss')`` (backbone, neck, head and losses, and by
AOTAutograd their backward), and leaves data preprocessing, loss parsing and
the optimizer wrapper (counter, backward call, ``optimizer.step``,
``zero_grad``) eager, in the order of :meth:`BaseModel.train_step
<mmengine.model.BaseModel.train_step>`. One graph per batch shape and
model mode; nothing guards on the counter.
"""
from typing import Dict, Union

import torch
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper

from shike_mm.utils.inductor_cache import key_inductor_cache_by_isa


def compile_train_step(model, compile_cfg: Union[bool, dict, None]) -> bool:
    """Replace ``model.train_step`` by one whose loss forward is compiled.

    Args:
        model (nn.Module): The runner's model.
        compile_cfg (bool | dict | None): The config's ``compile``: ``True``
            or the keyword arguments of :func:`torch.compile`.

    Returns:
        bool: Whether ``model.train_step`` was replaced. False (nothing
        done) when ``compile_cfg`` is off, for model wrappers (DDP) and for
        models that override :meth:`BaseModel.train_step`: the caller
        compiles those as mmengine does.
    """
    if not compile_cfg:
        return False
    if is_model_wrapper(model) or not isinstance(model, BaseModel) or \
            type(model).train_step is not BaseModel.train_step:
        return False
    kwargs = {} if compile_cfg is True else dict(compile_cfg)
    key_inductor_cache_by_isa()

    def loss_forward(data):
        return model._run_forward(data, mode='loss')

    compiled_loss_forward = torch.compile(loss_forward, **kwargs)

    def train_step(data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        # BaseModel.train_step with the loss forward compiled
        with optim_wrapper.optim_context(model):
            data = model.data_preprocessor(data, True)
            losses = compiled_loss_forward(data)
        parsed_losses, log_vars = model.parse_losses(losses)
        optim_wrapper.update_params(parsed_losses)
        return log_vars

    model.train_step = train_step
    return True
