# Copyright (c) shike-mm contributors. All rights reserved.
"""The public SHIKE code, loaded at run time from a checkout of it.

The reference implementation of SHIKE (Jin et al., CVPR 2023) is
github.com/jinyan-06/SHIKE; the speed comparisons of ``tools/benchmark.py
--reference-repo`` and ``tools/reference_train.py`` use its commit
``2b04b62``::

    git clone https://github.com/jinyan-06/SHIKE
    git -C SHIKE checkout 2b04b62

Nothing of it is copied into this repository. From the checkout:

- ``networks.py`` is imported as a module (``resnet32(num_classes,
  use_norm=True, num_exps=3)`` is the model of its CIFAR-100-LT run);
- ``mix_outputs`` (the stage-1 loss: soft cross-entropy, hardest negative
  suppression and mutual distillation) is taken from ``cifarTrain.py`` and
  ``soft_entropy`` from ``utils.py`` as source: both files import modules
  the loss does not use (``cifarTrain.py`` parses the command line at
  import time, ``utils.py`` needs scikit-learn and matplotlib), so only
  these two functions are compiled, with ``torch``, ``torch.nn`` and
  ``torch.nn.functional`` in scope as in their files.

``mix_outputs`` moves its class-count tensor to CUDA unconditionally
(``.cuda()``); :func:`cpu_cuda_calls` makes that call a no-op on a machine
without CUDA, so the reference loss runs unchanged on a CPU.
"""
import ast
import contextlib
import importlib.util
import os.path as osp
import sys
import warnings
from types import SimpleNamespace

import torch
import torch.nn as nn
import torch.nn.functional as F

#: The commit of github.com/jinyan-06/SHIKE the figures were measured with.
REFERENCE_COMMIT = '2b04b62'


def _function_code(path, name):
    """Compiled code of the top-level function ``name`` of ``path``, with
    its file name and line numbers (for tracebacks and warnings)."""
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return compile(ast.Module(body=[node], type_ignores=[]), path,
                           'exec')
    raise SystemExit(f'{path} defines no function {name!r}: not a checkout '
                     f'of github.com/jinyan-06/SHIKE ({REFERENCE_COMMIT})?')


def load_reference(repo):
    """Import the public SHIKE model and stage-1 loss from ``repo``.

    Args:
        repo (str): Path of a checkout of github.com/jinyan-06/SHIKE.

    Returns:
        SimpleNamespace: ``resnet32`` (the model factory of
        ``networks.py``), ``mix_outputs`` and ``soft_entropy`` (the
        functions of ``cifarTrain.py`` and ``utils.py``), ``repo``.
    """
    repo = osp.abspath(osp.expanduser(repo))
    files = {
        name: osp.join(repo, name)
        for name in ('networks.py', 'cifarTrain.py', 'utils.py')
    }
    missing = [name for name, path in files.items() if not osp.isfile(path)]
    if missing:
        raise SystemExit(
            f'--reference-repo {repo}: no {", ".join(missing)}; expected a '
            'checkout of https://github.com/jinyan-06/SHIKE (commit '
            f'{REFERENCE_COMMIT})')
    spec = importlib.util.spec_from_file_location('shike_reference_networks',
                                                  files['networks.py'])
    networks = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = networks
    spec.loader.exec_module(networks)

    namespace = dict(torch=torch, nn=nn, F=F)
    for path, name in ((files['utils.py'], 'soft_entropy'),
                       (files['cifarTrain.py'], 'mix_outputs')):
        exec(_function_code(path, name), namespace)
    return SimpleNamespace(
        repo=repo,
        resnet32=networks.resnet32,
        mix_outputs=namespace['mix_outputs'],
        soft_entropy=namespace['soft_entropy'])


@contextlib.contextmanager
def cpu_cuda_calls():
    """Make ``Tensor.cuda()`` return the tensor itself where there is no
    CUDA device (the reference loss calls it on every step)."""
    if torch.cuda.is_available():
        yield
        return
    original = torch.Tensor.cuda
    torch.Tensor.cuda = lambda self, *args, **kwargs: self
    try:
        yield
    finally:
        torch.Tensor.cuda = original


def label_distribution(num_classes, img_max=500, imb_factor=0.01):
    """The class counts ``cifarTrain.py`` gives ``mix_outputs``
    (``args.label_dis``; the stage-1 loss does not use their values)."""
    return [
        int(img_max * imb_factor**(i / (num_classes - 1.0)))
        for i in range(num_classes)
    ]


def build_reference_step(ref, num_classes, lr=0.05, device='cpu',
                         label_dis=None):
    """The reference model, its SGD optimizer and one training step as
    ``cifarTrain.py``'s ``train`` does it in float32 (no autocast, which is
    CUDA-only there): zero_grad, forward, ``mix_outputs`` against one-hot
    labels, backward, step.

    Args:
        label_dis (list[int], optional): Training images per class, the
            ``label_dis`` of their balanced (retraining) loss. Defaults to
            their CIFAR-100-LT counts (:func:`label_distribution`), which
            the stage-1 loss does not use.

    Returns:
        tuple: (model, optimizer, step) where ``step(images, labels,
        crt=False, optimizer=optimizer)`` takes a float batch (N, 3, H, W)
        and integer labels (N,); ``crt=True`` is their classifier
        retraining step (``model(images, True)``, balanced loss).
    """
    model = ref.resnet32(
        num_classes=num_classes, use_norm=True, num_exps=3).to(device)
    optimizer = torch.optim.SGD(
        model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-4)
    if label_dis is None:
        label_dis = label_distribution(num_classes)

    def step(images, labels, crt=False, optimizer=optimizer):
        onehot = F.one_hot(labels, num_classes).float()
        optimizer.zero_grad()
        with cpu_cuda_calls(), warnings.catch_warnings():
            # F.softmax without dim, kl_div's 'mean': their code, as is
            warnings.simplefilter('ignore', UserWarning)
            outputs = model(images, crt)
            loss, output = ref.mix_outputs(
                outputs=outputs,
                labels=onehot,
                balance=crt,
                label_dis=label_dis)
        loss.backward()
        optimizer.step()
        return loss, output

    return model, optimizer, step
