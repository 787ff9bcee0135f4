# Copyright (c) shike-mm contributors. All rights reserved.
"""The data, model copies and SGD steps that the SyncBN tests run in one
process and in two."""
import torch

C = 3


SPLIT = (5, 3)  # per-rank batch sizes of the 8-sample global batch


STEPS = 3


def make_data(dtype=torch.float64):
    """The global batches and the weights of a fixed linear loss."""
    gen = torch.Generator().manual_seed(0)
    xs = [torch.randn(sum(SPLIT), C, 4, 5, generator=gen, dtype=dtype) * 3 + 2
          for _ in range(STEPS)]
    grads = [torch.randn(sum(SPLIT), C, 4, 5, generator=gen, dtype=dtype)
             for _ in range(STEPS)]
    return xs, grads


def init_like(bn, gen_seed=1):
    gen = torch.Generator().manual_seed(gen_seed)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(C, generator=gen) + 0.5)
        bn.bias.copy_(torch.randn(C, generator=gen))
    return bn


def run_steps(bn, xs, grads, rows=slice(None)):
    """Train-mode steps on ``x[rows]``; returns outputs, input grads and the
    accumulated weight / bias grads."""
    outs, x_grads = [], []
    for x, g in zip(xs, grads):
        x = x[rows].clone().requires_grad_(True)
        out = bn(x)
        (out * g[rows]).sum().backward()
        outs.append(out.detach())
        x_grads.append(x.grad)
    return outs, x_grads, bn.weight.grad.clone(), bn.bias.grad.clone()
