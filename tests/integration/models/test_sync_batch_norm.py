# Copyright (c) shike-mm contributors. All rights reserved.
"""SyncBatchNorm2d ('SyncBNAnyDevice'): BatchNorm2d in one process, the
global batch's BatchNorm2d (forward, gradients, running statistics) over
2 CPU processes on gloo with unequal per-rank batches. Here the cases that
start a process or compile; the in-process ones are in
tests/unit/models/test_sync_batch_norm.py."""
import os.path as osp

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn

from shike_mm.models.utils import SyncBatchNorm2d
from tests.helpers.sync_bn_steps import (SPLIT, STEPS, C, init_like, make_data,
                                         run_steps)


def _worker(rank, init_file, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group('gloo', init_method=f'file://{init_file}',
                            rank=rank, world_size=len(SPLIT))
    try:
        start = sum(SPLIT[:rank])
        rows = slice(start, start + SPLIT[rank])
        xs, grads = make_data()
        result = {}
        for momentum in (0.1, None):
            bn = init_like(SyncBatchNorm2d(C, momentum=momentum).double())
            outs, x_grads, w_grad, b_grad = run_steps(bn, xs, grads, rows)
            result[momentum] = dict(
                outs=outs, x_grads=x_grads, w_grad=w_grad, b_grad=b_grad,
                buffers={k: v.clone() for k, v in bn.named_buffers()})
            bn.eval()  # eval: running statistics, no collective
            result[momentum]['eval'] = bn(xs[0][rows]) if rank == 0 else None
        # one value per channel over all ranks (rank 1 holds none)
        bn = SyncBatchNorm2d(C)
        try:
            bn(torch.ones(1 - rank, C, 1, 1))
        except ValueError as err:
            result['error'] = str(err)
        torch.save(result, osp.join(out_dir, f'rank{rank}.pt'))
    finally:
        dist.destroy_process_group()


def test_two_processes_equal_the_global_batch(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / 'init'), str(tmp_path)),
             nprocs=len(SPLIT), join=True)
    ranks = [torch.load(tmp_path / f'rank{r}.pt', weights_only=False)
             for r in range(len(SPLIT))]
    xs, grads = make_data()
    for momentum in (0.1, None):
        ref = init_like(nn.BatchNorm2d(C, momentum=momentum).double())
        outs, x_grads, w_grad, b_grad = run_steps(ref, xs, grads)
        got = [r[momentum] for r in ranks]
        for step in range(STEPS):
            out = torch.cat([g['outs'][step] for g in got])
            torch.testing.assert_close(out, outs[step], rtol=0, atol=1e-12)
            # the input gradients include the paths through the other
            # rank's statistics
            x_grad = torch.cat([g['x_grads'][step] for g in got])
            torch.testing.assert_close(
                x_grad, x_grads[step], rtol=0, atol=1e-12)
        # each rank holds its part of the parameter gradients; DDP sums
        # (and averages) them
        torch.testing.assert_close(
            sum(g['w_grad'] for g in got), w_grad, rtol=0, atol=1e-10)
        torch.testing.assert_close(
            sum(g['b_grad'] for g in got), b_grad, rtol=0, atol=1e-10)
        for name, buf in ref.named_buffers():
            for g in got:  # the same running statistics on every rank
                torch.testing.assert_close(
                    g['buffers'][name], buf, rtol=0, atol=1e-12)
        ref.eval()
        start, stop = 0, SPLIT[0]
        torch.testing.assert_close(
            got[0]['eval'], ref(xs[0])[start:stop], rtol=0, atol=1e-12)
        # the statistics really are global: per-rank BN differs
        local = init_like(nn.BatchNorm2d(C).double())
        assert not torch.allclose(
            local(xs[0][:SPLIT[0]]), got[0]['outs'][0], atol=1e-3)
    for r in ranks:
        assert 'more than 1 value per channel over all ranks' in r['error']
        assert '1 in all' in r['error']
