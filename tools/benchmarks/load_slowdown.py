# Copyright (c) shike-mm contributors. All rights reserved.
"""Slowdown of training iterations when other processes hold the cores.

Times training iterations of a config (default: the quickstart's) as
``tools/train.py`` runs them, batches from the config's own data loader
(its workers beside the step) then ``model.train_step``, first on an idle
machine, then with ``--competing-load N`` busy processes (pure-Python
loops started here, killed at the end, also on an error or Ctrl-C, and
each stopping by itself after ``--load-seconds``), and prints the
slowdown: loaded wall time per iteration / idle wall time per iteration.

OpenMP wait settings are compared, each in a fresh process (libgomp
reads them when torch loads):

- ``spin``: GNU OpenMP's own default, threads spin at each barrier for
  about 300,000 turns before they sleep (``GOMP_SPINCOUNT=300000``);
- ``passive``: ``OMP_WAIT_POLICY=PASSIVE``, threads sleep at once;
- ``default``: what shike-mm's tools run with when the user sets nothing,
  a bounded spin (``shike_mm/utils/omp_env.py``);
- ``spincount:N``: ``GOMP_SPINCOUNT=N``, any other spin bound.

A fair share of the CPU would give about ``(threads + N) / cores``
(at least 1), which is printed beside the figures. Run it on an otherwise
idle machine: other load already counts in the "idle" figure.

Usage::

    python tools/benchmarks/load_slowdown.py [CONFIG] [--competing-load N]
        [--threads T] [--iters 20] [--warmup 3]
        [--policies spin passive default spincount:N ...]
"""
import argparse
import json
import os
import subprocess
import sys
import time

from shike_mm.testing.competing_load import competing_load
from shike_mm.utils.omp_env import (LIBGOMP_DEFAULT_SPIN, WAIT_SETTINGS,
                                    omp_env)

QUICKSTART = 'configs/shike/shike_r32_fashion-mnist-lt-r100-1k_20e.py'
POLICIES = ('spin', 'passive', 'default')


def wait_policy(text):
    """``spin``, ``passive``, ``default`` or ``spincount:N`` (N >= 0),
    for argparse."""
    if text in POLICIES:
        return text
    name, _, count = text.partition(':')
    if name == 'spincount' and count.isdigit():
        return text
    raise argparse.ArgumentTypeError(
        f'{text!r}: expected spin, passive, default or spincount:N (N a '
        'whole number of turns, e.g. spincount:10000)')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description='Slowdown of training iterations under a competing '
        'CPU load')
    parser.add_argument('config',
                        nargs='?',
                        default=QUICKSTART,
                        help=f'config file (default: {QUICKSTART})')
    parser.add_argument(
        '--competing-load',
        type=int,
        metavar='N',
        help='busy processes started beside the loaded measurement '
        '(default: one per CPU this process may use)')
    parser.add_argument(
        '--threads',
        type=int,
        help='intra-op threads (default: torch\'s, one per core)')
    parser.add_argument('--iters',
                        type=int,
                        default=20,
                        help='timed iterations')
    parser.add_argument('--warmup',
                        type=int,
                        default=3,
                        help='untimed iterations first')
    parser.add_argument('--policies',
                        nargs='+',
                        type=wait_policy,
                        default=list(POLICIES),
                        metavar='POLICY',
                        help='OpenMP wait settings to measure: spin, passive, '
                        'default or spincount:N (default: spin passive '
                        'default)')
    parser.add_argument(
        '--load-seconds',
        type=float,
        default=1800,
        help='the longest a busy process runs (a bound, should this '
        'script be killed)')
    parser.add_argument(
        '--measure',
        action='store_true',
        help='(internal) time the iterations in this process and print '
        'one JSON line')
    args = parser.parse_args(argv)
    if args.iters < 1 or args.warmup < 0:
        parser.error('--iters must be >= 1 and --warmup >= 0')
    if args.competing_load is not None and args.competing_load < 0:
        parser.error('--competing-load must be >= 0')
    return args


# ----------------------------------------------------------------------
# in the measuring process
# ----------------------------------------------------------------------
def measure(args):
    """Time ``args.iters`` training iterations through the config's loader
    (a new pass over the loader when one ends, as at an epoch's start);
    print ``{"seconds": [...], "threads": T, "batch": B}``."""
    import torch
    from mmengine.logging import MMLogger
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmpretrain.registry import MODELS

    import shike_mm  # noqa: F401  (registers shike-mm modules)
    from shike_mm.engine.compile_step import compile_train_step
    from shike_mm.testing.train_data import build_train_data, load_config
    from shike_mm.utils.compile_support import compile_unavailable

    loader_args = argparse.Namespace(config=args.config,
                                     cfg_options=None,
                                     batch_size=None,
                                     threads=args.threads,
                                     workers=None,
                                     synthetic=False,
                                     data_batches=args.iters + args.warmup)
    cfg = load_config(loader_args)
    init_default_scope(cfg.get('default_scope', 'mmpretrain'))
    MMLogger.get_instance('load_slowdown', log_level='ERROR')
    torch.manual_seed(0)
    loader, data_desc = build_train_data(cfg, loader_args,
                                         cfg.model.head.num_classes)
    model = MODELS.build(cfg.model)
    model.init_weights()
    model.train()
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    compile_cfg = cfg.get('compile', None)
    if compile_cfg and compile_unavailable(compile_cfg, False) is None:
        if not compile_train_step(model, compile_cfg):
            kwargs = dict(compile_cfg) if isinstance(compile_cfg, dict) \
                else {}
            model.train_step = torch.compile(model.train_step, **kwargs)

    batches = iter(loader)

    def iteration():
        nonlocal batches
        try:
            data = next(batches)
        except StopIteration:
            batches = iter(loader)
            data = next(batches)
        model.train_step(data, optim)

    for _ in range(args.warmup):
        iteration()
    seconds = []
    for _ in range(args.iters):
        start = time.perf_counter()
        iteration()
        seconds.append(time.perf_counter() - start)
    print(
        json.dumps(
            dict(seconds=seconds,
                 threads=torch.get_num_threads(),
                 batch=cfg.train_dataloader.batch_size,
                 workers=cfg.train_dataloader.num_workers,
                 data=data_desc)))


# ----------------------------------------------------------------------
# in the controlling process (torch is not imported here)
# ----------------------------------------------------------------------
def policy_env(policy):
    """The environment of a measuring process for one wait setting."""
    base = {k: v for k, v in os.environ.items() if k not in WAIT_SETTINGS}
    if policy == 'default':
        # OMP_NUM_THREADS=1 adds nothing: nothing waits
        return omp_env(base)
    if policy == 'spin':
        return {**base, **LIBGOMP_DEFAULT_SPIN}
    if policy == 'passive':
        return {**base, 'OMP_WAIT_POLICY': 'PASSIVE'}
    return {**base, 'GOMP_SPINCOUNT': policy.partition(':')[2]}


def run_measure(args, policy):
    command = [
        sys.executable,
        os.path.abspath(__file__), args.config, '--measure', '--iters',
        str(args.iters), '--warmup',
        str(args.warmup)
    ]
    if args.threads:
        command += ['--threads', str(args.threads)]
    proc = subprocess.run(command,
                          env=policy_env(policy),
                          stdout=subprocess.PIPE,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f'the {policy} measurement failed '
                         f'({proc.returncode}): {" ".join(command)}')
    return json.loads(proc.stdout.strip().splitlines()[-1])


def per_iteration(result):
    """Wall time per iteration (the mean: pauses count as users see
    them)."""
    return sum(result['seconds']) / len(result['seconds'])


def main(argv=None):
    args = parse_args(argv)
    if args.measure:
        measure(args)
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(
        os, 'sched_getaffinity') else os.cpu_count()
    load = cores if args.competing_load is None else args.competing_load
    print(f'config: {args.config}')
    print(f'cores: {cores}, competing load: {load} busy process(es), load '
          f'average (1 min) now {os.getloadavg()[0]:.2f}')
    idle = {p: run_measure(args, p) for p in args.policies}
    first = next(iter(idle.values()))
    threads = first['threads']
    print(f'step: batch {first["batch"]}, {threads} intra-op threads, '
          f'{first["workers"]} loader workers, {args.iters} timed '
          f'iterations; data: {first["data"]}')
    with competing_load(load, args.load_seconds) as pids:
        print(f'busy processes started: {" ".join(map(str, pids)) or "-"}')
        loaded = {p: run_measure(args, p) for p in args.policies}
    print('busy processes stopped')
    fair = max(1.0, (threads + load) / cores)
    for policy in args.policies:
        quiet, busy = per_iteration(idle[policy]), per_iteration(
            loaded[policy])
        print(f'{policy:16s} idle {quiet * 1000:8.0f} ms/iter, loaded '
              f'{busy * 1000:8.0f} ms/iter, slowdown {busy / quiet:6.2f}x')
    print(f'fair share: about {fair:.2f}x ({threads} threads and {load} '
          f'busy processes on {cores} cores)')


if __name__ == '__main__':
    main()
