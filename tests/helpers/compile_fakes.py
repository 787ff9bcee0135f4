# Copyright (c) shike-mm contributors. All rights reserved.
"""A tiny model, a runner around it and its compiled train step, for the
compile-support tests."""
import logging
from types import SimpleNamespace

import torch.nn as nn
from mmengine.config import Config

from shike_mm.engine.hooks.compile_hook import CompileHook, compile_as_hook


class Model(nn.Module):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def train_step(self, x):
        return self.fc(x).relu()


def runner_with(compile_cfg):
    """A runner reduced to what :class:`CompileHook` uses, with the hook
    that ``tools/train.py`` makes of ``compile_cfg``."""
    cfg = compile_as_hook(Config(dict(compile=compile_cfg)))
    assert 'compile' not in cfg  # mmengine's runner must not compile too
    hooks = cfg.get('custom_hooks', [])
    assert len(hooks) == (1 if compile_cfg else 0)
    runner = SimpleNamespace(
        model=Model(), logger=logging.getLogger('compile-support-test'),
        hooks=[CompileHook(**{k: v
                              for k, v in hook.items() if k != 'type'})
               for hook in hooks])
    return runner


def compile_step(runner):
    """What the runner does before the first iteration."""
    for hook in runner.hooks:
        hook.before_train(runner)
