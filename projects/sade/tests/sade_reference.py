# Copyright (c) shike-mm contributors. All rights reserved.
"""The public SADE code (github.com/Vanint/SADE-AgnosticLT), loaded at test
time from a checkout named by the environment variable
``SADE_REFERENCE_REPO``; nothing of it is copied here.

- ``model/ldam_drw_resnets/expert_resnet_cifar.py`` and ``model/loss.py``
  import only torch and numpy and are imported as modules;
- ``test_training`` of ``test_training_cifar.py`` (one epoch of test-time
  aggregation) is compiled alone from the file's source: the file imports
  the data loaders, the config parser and tqdm at import time. It runs
  with ``torch``, ``F`` and ``np`` in scope, ``tqdm`` as the identity and
  the meters given by the caller.

The public code moves tensors to CUDA unconditionally; the callers patch
``torch.Tensor.cuda`` to the identity (pytest's ``monkeypatch``).
"""
import ast
import importlib.util
import os
import os.path as osp
from types import SimpleNamespace

import numpy as np
import torch
import torch.nn.functional as F

REPO = os.environ.get('SADE_REFERENCE_REPO')


def _module(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(path, name, scope):
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            code = compile(
                ast.Module(body=[node], type_ignores=[]), path, 'exec')
            exec(code, scope)
            return scope[name]
    raise AssertionError(f'{path} defines no function {name!r}')


class Meter:
    """Stands in for the public code's AverageMeter / ProgressMeter and
    records every value it is updated with."""

    values = []

    def __init__(self, *args, **kwargs):
        pass

    def update(self, val, n=1):
        Meter.values.append(float(val))


def load(repo=REPO):
    """The public modules and functions used by the equivalence tests.

    Returns:
        SimpleNamespace: ``resnet_cifar`` (module of ``ResNet_s``,
        ``BasicBlock``), ``loss`` (module of ``DiverseExpertLoss``),
        ``test_training`` (function), ``Meter``.
    """
    repo = osp.abspath(repo)
    resnet = _module(
        osp.join(repo, 'model', 'ldam_drw_resnets', 'expert_resnet_cifar.py'),
        'sade_reference_expert_resnet_cifar')
    loss = _module(osp.join(repo, 'model', 'loss.py'), 'sade_reference_loss')
    scope = dict(torch=torch, F=F, np=np, tqdm=lambda x: x,
                 AverageMeter=Meter, ProgressMeter=Meter)
    test_training = _function(
        osp.join(repo, 'test_training_cifar.py'), 'test_training', scope)
    return SimpleNamespace(resnet_cifar=resnet, loss=loss,
                           test_training=test_training, Meter=Meter)
