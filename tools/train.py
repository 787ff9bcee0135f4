# Copyright (c) shike-mm contributors. All rights reserved.
"""Train a model with an mmengine config (mmpretrain's command-line contract).

Examples::

    python tools/train.py configs/shike/shike_r32_cifar100-lt-r100.py
    python tools/train.py CONFIG --resume                # latest in work_dir
    python tools/train.py CONFIG --resume work_dirs/x/epoch_3.pth
    python tools/train.py CONFIG --resume --resume-anyway  # config changed
    python tools/train.py CONFIG --cfg-options train_cfg.max_epochs=4
    python tools/train.py CONFIG --epochs 20   # whole schedule, same shape
    tools/dist_train.sh CONFIG 8                         # one process per GPU

OpenMP threads spin at most 30,000 turns at a barrier before they sleep
(``GOMP_SPINCOUNT=30000``, set by ``import shike_mm`` unless a wait
setting is in the environment), so a run on a CPU shared with other busy
processes slows about in proportion to its share of the cores; the results
are the same to the bit (docs/performance.md, "Training on a shared CPU").
"""
import argparse
import logging
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.logging import print_log

from shike_mm.engine.checkpoint import check_checkpoint_path
from shike_mm.engine.checkpoint.file_io import read_last_checkpoint
from shike_mm.engine.hooks import LoadFromCheckHook
from shike_mm.engine.hooks.compile_hook import compile_as_hook
from shike_mm.engine.runners import finish_distributed
from shike_mm.engine.stages import resolve_stage_schedule
from shike_mm.engine.work_dir_lock import work_dir_lock
from shike_mm.utils.runner_cli import (build_runner, check_finite_settings,
                                       merge_common_args)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume',
        nargs='?',
        type=str,
        const='auto',
        help='resume from the given checkpoint, or, without a path, from the '
        'latest checkpoint in the work directory')
    parser.add_argument(
        '--epochs',
        type=int,
        help='rescale the whole schedule (LR schedulers, stage boundary, '
        're-weighting epochs, validation / checkpoint intervals) to this '
        'many epochs, keeping its shape; applied after --cfg-options')
    parser.add_argument(
        '--resume-anyway',
        action='store_true',
        help='resume even though the checkpoint was trained with a '
        'different data / model / schedule config (by default that is an '
        'error listing the differences)')
    parser.add_argument(
        '--amp',
        action='store_true',
        help='enable automatic mixed precision (fp16 autocast with a '
        'dynamic loss scale; needs a GPU)')
    parser.add_argument(
        '--no-validate',
        action='store_true',
        help='do not evaluate checkpoints during training')
    parser.add_argument(
        '--auto-scale-lr',
        action='store_true',
        help='scale the learning rate by the actual total batch size')
    parser.add_argument(
        '--no-pin-memory',
        action='store_true',
        help='disable pin_memory in the dataloaders')
    parser.add_argument(
        '--no-persistent-workers',
        action='store_true',
        help='disable persistent_workers in the dataloaders')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='override config entries, key=value (e.g. '
        'train_cfg.max_epochs=4 "param_scheduler.0.end=2")')
    parser.add_argument(
        '--launcher',
        choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none',
        help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def merge_args(cfg: Config, args) -> Config:
    """Merge the training-only command-line arguments into the config."""
    if args.no_validate:
        cfg.val_cfg = None
        cfg.val_dataloader = None
        cfg.val_evaluator = None

    if args.amp:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit(
                '--amp: mixed precision needs a GPU (mmengine\'s '
                'AmpOptimWrapper supports CUDA/NPU/MLU/MUSA only); this '
                'machine has none. Drop --amp to train in float32.')
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')

    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        try:
            check_checkpoint_path(args.resume)
        except FileNotFoundError:
            raise FileNotFoundError(
                f'--resume: checkpoint file not found: {args.resume}'
            ) from None
        cfg.resume = True
        cfg.load_from = args.resume
    if args.resume_anyway:
        cfg.resume_anyway = True

    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    cfg = merge_common_args(cfg, args)
    # The stage recipe is read here, once: stage-relative schedulers become
    # absolute epochs, then --epochs moves them with the stages' begins.
    cfg = resolve_stage_schedule(cfg, epochs=args.epochs)
    check_finite_settings(cfg)
    # the runner compiles through a hook that can fall back to eager mode
    return compile_as_hook(cfg)


def resolve_auto_resume(cfg: Config) -> Config:
    """``--resume`` without a path: resume from the checkpoint that the
    work directory's ``last_checkpoint`` names, read relative to the work
    directory (a moved or copied work directory resumes), or start from the
    beginning when there is none. Call it holding the work directory's
    lock."""
    if not cfg.get('resume', False) or cfg.get('load_from') is not None:
        return cfg
    resume_from = read_last_checkpoint(cfg.work_dir)
    if resume_from is None:
        print_log(f'No last_checkpoint in {cfg.work_dir}: training starts '
                  'from the beginning.', logger='current')
        cfg.resume = False
    else:
        print_log(f'Auto resumed from the latest checkpoint {resume_from}.',
                  logger='current')
        cfg.load_from = resume_from
    return cfg


def warn(message: str) -> None:
    print_log(message, logger='current', level=logging.WARNING)


def stopped_by_interrupt(runner) -> int:
    """Say where Ctrl-C stopped training and which checkpoint
    ``--resume`` continues from, as on SIGTERM; the exit status (130)."""
    try:
        last = read_last_checkpoint(runner.work_dir)
    except OSError as err:
        last = f'none usable ({err})'
    kept = ('no checkpoint has been written yet' if last is None else
            f'the last good checkpoint is {last} (--resume continues from '
            'it)')
    print(f'SIGINT received at epoch {runner.epoch + 1}, iteration '
          f'{runner.iter + 1}: training stopped; {kept}', file=sys.stderr,
          flush=True)
    return 128 + 2


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    cfg = merge_args(cfg, args)
    # the lock comes first: building the runner writes the config copy and
    # the log directory into the work directory
    with work_dir_lock(cfg.work_dir, cfg.launcher, warn=warn):
        cfg = resolve_auto_resume(cfg)
        runner = build_runner(cfg)
        if cfg.get('load_from', None) and not cfg.get('resume', False):
            runner.register_hook(LoadFromCheckHook(cfg.load_from))
        try:
            runner.train()
        except KeyboardInterrupt:
            raise SystemExit(stopped_by_interrupt(runner)) from None
    finish_distributed()


if __name__ == '__main__':
    main()
