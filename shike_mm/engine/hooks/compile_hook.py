# Copyright (c) shike-mm contributors. All rights reserved.
"""``torch.compile`` of the training step, as a hook.

mmengine's runner compiles the whole ``model.train_step`` inside
``Runner.train`` when the config sets ``compile``, with nothing in between
to turn it down. :func:`compile_as_hook` moves a config's ``compile``
entry into a :class:`CompileHook` before the runner is built, and the hook
compiles in ``before_train``, where the runner would have:

- without the toolchain Inductor needs on this machine (a C++ compiler on
  CPU, Triton on GPU) it logs why and leaves the model eager
  (:func:`~shike_mm.utils.compile_support.compile_fallback_warning`);
- for a :class:`~mmengine.model.BaseModel` it compiles the loss forward
  only (:func:`~shike_mm.engine.compile_step.compile_train_step`), since
  compiling the optimizer wrapper recompiles at every step;
- otherwise (model wrappers, models with their own ``train_step``) it
  compiles ``train_step`` as mmengine does.
"""
from typing import Union

import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmpretrain.registry import HOOKS

from shike_mm.utils.compile_support import compile_fallback_warning
from shike_mm.utils.inductor_cache import key_inductor_cache_by_isa
from ..compile_step import compile_train_step


@HOOKS.register_module()
class CompileHook(Hook):
    """Compile the training step before the first iteration.

    Args:
        compile (bool | dict): ``True`` or the keyword arguments of
            :func:`torch.compile` (the config's ``compile`` entry).
            Defaults to True.
    """

    priority = 'VERY_HIGH'

    def __init__(self, compile: Union[bool, dict] = True) -> None:
        if not isinstance(compile, (bool, dict)):
            raise TypeError(f'CompileHook: compile must be a bool or a dict '
                            f'of torch.compile arguments, got {compile!r}')
        self.compile = compile

    def before_train(self, runner) -> None:
        compile_cfg = self.compile
        if not compile_cfg:
            return
        warning = compile_fallback_warning(compile_cfg, runner.model)
        if warning is not None:
            runner.logger.warning(warning)
            return
        if compile_train_step(runner.model, compile_cfg):
            runner.logger.info('Compiled the loss forward of train_step; the '
                               'first iterations will be slow.')
            return
        kwargs = {} if compile_cfg is True else dict(compile_cfg)
        key_inductor_cache_by_isa()
        runner.model.train_step = torch.compile(runner.model.train_step,
                                                **kwargs)
        runner.logger.info('Compiled train_step; the first iterations will '
                           'be slow.')


def compile_as_hook(cfg: Config) -> Config:
    """Move the config's ``compile`` entry into a :class:`CompileHook` in
    ``custom_hooks`` (mmengine's runner would otherwise compile the whole
    ``train_step`` itself). A config without ``compile`` is left as it is.

    Args:
        cfg (Config): The config, modified in place.

    Returns:
        Config: ``cfg``.
    """
    compile_cfg = cfg.pop('compile', None)
    if compile_cfg:
        hooks = list(cfg.get('custom_hooks', None) or [])
        hooks.append(dict(type='CompileHook', compile=compile_cfg))
        cfg.custom_hooks = hooks
    return cfg
